#!/usr/bin/env bash
# schema_guard against the real Alembic (Debian's alembic 1.8, psycopg2): a
# project whose revisions grow through two heads, a merge and a depends_on
# branch is driven with the alembic command through a full and a partial
# upgrade, a downgrade, a stamp of a revision whose DDL never ran, a version
# row alembic cannot locate and a hand-made ALTER; after each, the exporter
# (contrib/alembic) declares the graph and schema_guard's findings, plan,
# counts and every audit row's migration are compared with what Alembic's
# own API says (alembic_real.py). Runs against the cluster in PGHOST/PGPORT
# (scripts/test); prints TAP.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_alembic
work=$(mktemp -d /tmp/sg_alembic.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c "CREATE EXTENSION schema_guard" || { echo "1..1"; echo "not ok 1 - set-up"; exit 1; }
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$root/test/shell/alembic_real.py" "$root" "$work" "$db"
