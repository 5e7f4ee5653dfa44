#!/usr/bin/env bash
# A 5,000-input slice of the seeded fuzzer (bench/fuzz/fuzz.py): mutated
# manifests, migration graphs, staging options and rows, labels, patterns
# and names fired at every JSON- and text-taking entry point, in a database
# of its own. Every input is accepted or refused with a clean SQLSTATE; no
# internal error, no crash (also read from the server log). Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
db=sg_fuzz
trap 'dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c "CREATE EXTENSION schema_guard" || exit 1
echo "1..1"
log=
[ -f "$PGHOST/server.log" ] && log="$PGHOST/server.log"
out=$(/usr/bin/python3 "$here/../../bench/fuzz/fuzz.py" --inputs "${SG_FUZZ_INPUTS:-5000}" \
        --seed "${SG_FUZZ_SEED:-20261205}" --dsn "dbname=$db" ${log:+--log "$log"} 2>&1)
rc=$?
if [ $rc -eq 0 ]; then echo "ok 1 - fuzzer: $(tail -1 <<<"$out")"; else echo "not ok 1 - fuzzer"; sed 's/^/# /' <<<"$out" | tail -30; fi
exit $rc
