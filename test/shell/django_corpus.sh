#!/usr/bin/env bash
# schema_guard's Django check against Django's own MigrationLoader and
# MigrationExecutor (Debian python3-django, psycopg2), graph by graph and
# state by state: the graphs of test/fixtures/django_graphs.json
# (django_corpus.py says what is compared). Runs against the cluster in
# PGHOST/PGPORT (scripts/test); prints TAP.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_django_corpus
work=$(mktemp -d /tmp/sg_django_corpus.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c "CREATE EXTENSION schema_guard" || { echo "1..1"; echo "not ok 1 - set-up"; exit 1; }
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$root/test/shell/django_corpus.py" \
  "$root/test/fixtures/django_graphs.json" "$work" "$db"
