#!/usr/bin/env bash
# The layer check `make test` runs: see scripts/check-layers.py and docs/ARCHITECTURE.md.
exec python3 "$(dirname "$0")/check-layers.py" "$@"
