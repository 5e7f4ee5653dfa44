#!/usr/bin/env bash
# The randomised fix_script() round trip (test/roundtrip): 200 seeded pairs
# of schemas, each fixed from B to A in both modes (transactional and
# online); every script must apply, leave check() empty and a snapshot equal
# to A's. SG_ROUNDTRIP_PAIRS sets the number of pairs (bench/roundtrip/run
# runs 10,000). Runs against the cluster in PGHOST/PGPORT; prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/../roundtrip/run.py" --pairs "${SG_ROUNDTRIP_PAIRS:-200}" --first 1 --jobs 2
