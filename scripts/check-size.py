#!/usr/bin/env python3
"""Fails when a source file or a function grows past what one reader can hold.

Limits: a file (.cc/.h under src/, tests included) at most MAX_FILE_LINES lines; a function,
method, lambda or test body at most MAX_FUNCTION_LINES lines from its signature to its closing
brace. KNOWN lists what exceeds them today and is still to be split; each is reported, none fails
the check, and an entry that no longer exceeds fails it (so the list only shrinks).

Usage: scripts/check-size.py [SRC_DIR]   (default: src beside this script)
"""

import os
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 120

# "path" for a file, "path:Name" for a function (a test: "path:Suite.Name").
KNOWN = set()

CONTROL = re.compile(r"^(if|for|while|switch|catch|do|else|namespace|class|struct|enum|union|"
                     r"extern|try|return)\b")


def strip_literals(text):
    """The text with comments and string/char literals blanked, newlines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i + m.end())
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:end]))
                i = end
            else:
                out.append(c)
                i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def long_functions(text):
    """(name, first line, lines) of every function-like body longer than the limit."""
    code = strip_literals(text)
    found, stack = [], []
    statement_start = 0
    for i, c in enumerate(code):
        if c == "{":
            head = code[statement_start:i].strip()
            one_line = " ".join(head.split())
            is_function = (re.search(r"\)\s*(const|override|noexcept|mutable|final|\s)*"
                                     r"(->\s*[\w:<>,\s*&]+)?$", one_line) is not None
                           and not CONTROL.match(one_line))
            name = ""
            if is_function:
                m = re.search(r"([~\w:]+)\s*\((?:[^()]|\([^()]*\))*\)[^()]*$", one_line)
                name = m.group(1) if m else "lambda"
                t = re.match(r"(TEST|TEST_F|TEST_P)\s*\(\s*(\w+)\s*,\s*(\w+)", one_line)
                if t:
                    name = f"{t.group(2)}.{t.group(3)}"
                if name.startswith("[") or one_line.startswith("["):
                    name = "lambda"
            start_line = code.count("\n", 0, statement_start + (len(code[statement_start:i]) -
                                                                 len(code[statement_start:i].lstrip())))
            stack.append((is_function, name, start_line + 1))
            statement_start = i + 1
        elif c == "}":
            if stack:
                is_function, name, first = stack.pop()
                last = code.count("\n", 0, i) + 1
                if is_function and last - first + 1 > MAX_FUNCTION_LINES:
                    found.append((name, first, last - first + 1))
            statement_start = i + 1
        elif c == ";":
            statement_start = i + 1
    return found


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    problems, known_seen = [], set()
    for root, _, files in os.walk(src):
        for fname in sorted(files):
            if not fname.endswith((".cc", ".h")):
                continue
            full = os.path.join(root, fname)
            path = os.path.relpath(full, src).replace(os.sep, "/")
            with open(full, encoding="utf-8") as f:
                text = f.read()
            lines = text.count("\n")
            if lines > MAX_FILE_LINES:
                (known_seen.add(path) if path in KNOWN else problems.append(
                    f"{path}: {lines} lines (at most {MAX_FILE_LINES})"))
            for name, first, length in long_functions(text):
                key = f"{path}:{name}"
                if key in KNOWN:
                    known_seen.add(key)
                else:
                    problems.append(f"{path}:{first}: {name} is {length} lines "
                                    f"(at most {MAX_FUNCTION_LINES})")
    for key in sorted(KNOWN - known_seen):
        if not os.path.exists(os.path.join(src, key.split(":")[0])):
            continue  # another tree (the script's own tests)
        problems.append(f"{key}: listed in KNOWN but within the limits now; remove it from KNOWN")
    for key in sorted(known_seen):
        print(f"check-size: known, still to split: {key}")
    for p in problems:
        print(f"check-size: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-size: every file within {MAX_FILE_LINES} lines and every function within "
          f"{MAX_FUNCTION_LINES} ({len(KNOWN)} known exceptions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
