#!/usr/bin/env bash
# schema_guard against flyway_schema_history rows written as Flyway 9 writes
# them (Flyway itself is not installable here): each script's DDL and its
# history row in one transaction, the table as Flyway creates it. The
# exporter (contrib/flyway) reads the migration folder by Flyway's naming
# rules with Flyway's checksums; a script changed after it was applied is a
# checksum_mismatch (what `flyway validate` reports), a changed line ending
# or byte-order mark is not (Flyway's checksum is over lines). Runs against
# the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_flyway
work=$(mktemp -d /tmp/sg_flyway.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c "CREATE EXTENSION schema_guard" || { echo "1..1"; echo "not ok 1 - set-up"; exit 1; }
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$root/test/shell/flyway_real.py" "$root" "$work" "$db"
