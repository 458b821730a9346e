"""What the tests of scripts/check-*.py share: running a check on a source tree, and writing a
small tree to run it on."""
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run_check(script, src):
    """Runs scripts/<script> on the source tree `src`."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), src],
                          capture_output=True, text=True)


def write(src, path, text):
    """Writes `text` to `path` under the tree `src`, creating its directories."""
    full = os.path.join(src, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
