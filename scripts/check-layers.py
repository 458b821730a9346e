#!/usr/bin/env python3
"""Fails when a source file includes a module its own module may not depend on.

The allowed dependencies are the table in docs/ARCHITECTURE.md ("Modules"), repeated here as
ALLOWED; a module may always include itself. Tests and their fixtures (`*_test.cc`,
`*_test_support.h`, `*_test_fixture.h`, `test_*.cc`) may include anything. KNOWN lists the includes that break the layering today and are still to be removed;
each is reported, none fails the check, and an entry that no longer occurs fails it (so the list
only shrinks).

Usage: scripts/check-layers.py [SRC_DIR]   (default: src beside this script)
"""

import os
import re
import sys

# protocol/json_input and its siblings are the wire plumbing every service uses
# (library coffer_wire), with the query protocol's input reader and XML escaping and the
# page-token codec; the rest of protocol/ is the dispatcher and the operator endpoints.
WIRE = {"protocol/json_input.h", "protocol/json_input.cc", "protocol/xml.h", "protocol/xml.cc", "protocol/page_token.h",
        "protocol/page_token.cc", "protocol/query_input.h", "protocol/query_input.cc",
        "protocol/operation_table.h", "protocol/later_json.h", "protocol/json_tags.h", "protocol/json_tags.cc"}

ALLOWED = {
    "core": set(),
    "crypto": {"core"},
    "store": {"core"},
    "wire": {"core", "crypto"},
    "net": {"core"},
    "client": {"auth", "core", "net"},
    "agent": {"client", "core"},
    "policy": {"core"},
    "audit": {"core", "crypto", "store"},
    "keyring": {"core", "crypto", "store"},
    "auth": {"core", "crypto", "keyring", "store"},
    "authz": {"core", "policy", "store"},
    "services/secrets": {"core", "crypto", "keyring", "policy", "store", "wire"},
    "services/params": {"core", "crypto", "keyring", "store", "wire", "services/secrets"},
    "services/kms": {"core", "crypto", "keyring", "store", "wire"},
    "services/sts": {"auth", "core", "crypto", "keyring", "policy", "store", "wire"},
    "services/cloudtrail": {"audit", "core", "crypto", "store", "wire"},
    "services/iam": {"auth", "core", "crypto", "keyring", "policy", "store", "wire",
                     "services/sts"},
    "rotation": {"audit", "core", "crypto", "keyring", "net", "store", "services/secrets",
                 "services/sts"},
    "protocol": {"audit", "auth", "core", "crypto", "keyring", "net", "store", "wire"},
    "server": {"audit", "auth", "core", "crypto", "keyring", "protocol", "store"},
    "monitoring": {"audit", "core", "crypto", "keyring", "net", "store"},
    "services/cloudwatch": {"core", "monitoring", "store", "wire"},
    "backup": {"core", "crypto", "keyring", "store"},
    # The dashboard's files, compiled in: depends on nothing.
    "ui": set(),
    # The composition root (app/) builds the object graph; the binary (cli/) runs it.
    "app": {"audit", "auth", "authz", "backup", "core", "crypto", "keyring", "monitoring", "net", "policy", "protocol",
            "rotation", "server", "services/cloudtrail", "services/cloudwatch", "services/iam", "services/kms", "services/params",
            "services/secrets", "services/sts", "store", "ui", "wire"},
    "cli": None,  # the binary: may include every module
    "testing": None,  # what unit tests share: may include every module
}

# (file, included header) pairs that break the table and are still to be removed: none now.
KNOWN = set()


def module_of(path):
    if path in WIRE:
        return "wire"
    parts = path.split("/")
    if parts[0] == "services" and len(parts) > 1:
        return "services/" + parts[1]
    return parts[0]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    include = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    broken, seen_known = [], set()
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".cc", ".h")):
                continue
            if "_test" in name or name.startswith("test_"):
                continue  # tests and their fixtures (foo_test.cc, foo_test_support.h)
            path = os.path.relpath(os.path.join(root, name), src).replace(os.sep, "/")
            module = module_of(path)
            if module not in ALLOWED:
                broken.append(f"{path}: module '{module}' is not in the layer table")
                continue
            allowed = ALLOWED[module]
            with open(os.path.join(root, name), encoding="utf-8") as f:
                for line_no, line in enumerate(f, 1):
                    m = include.match(line)
                    if not m:
                        continue
                    target = m.group(1)
                    dep = module_of(target)
                    if allowed is None or dep == module or dep in allowed:
                        continue
                    if not os.path.exists(os.path.join(src, target)):
                        continue  # not one of ours
                    if (path, target) in KNOWN:
                        seen_known.add((path, target))
                        continue
                    broken.append(f"{path}:{line_no}: {module} may not include {target} ({dep})")
    for path, target in sorted(KNOWN - seen_known):
        broken.append(f"{path} no longer includes {target}: remove it from KNOWN")
    for path, target in sorted(seen_known):
        print(f"check-layers: known, to be removed: {path} includes {target}")
    if broken:
        for line in broken:
            print(f"check-layers: {line}", file=sys.stderr)
        return 1
    print(f"check-layers: every include follows the layer table ({len(seen_known)} known "
          f"exceptions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
