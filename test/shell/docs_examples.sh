#!/usr/bin/env bash
# Every SQL and shell example of README.md and docs/*.md runs as written,
# and the output a document shows is the output it prints
# (test/shell/docs_examples.py says how blocks are read and compared).
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
root=$(cd "$(dirname "$0")/../.." && pwd)
exec python3 "$root/test/shell/docs_examples.py" "$root"
