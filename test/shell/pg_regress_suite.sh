#!/usr/bin/env bash
# PostgreSQL's own regression suite passes with schema_guard installed. Runs
# the core suite (src/test/regress of Debian's postgresql-15 source package,
# fetched with apt-get source; nothing of it is kept in the repository)
# twice against the cluster in PGHOST/PGPORT: plain, and with CREATE
# EXTENSION schema_guard in every test database (--load-extension, and in
# template1 for the databases the tests create). The two runs' result files
# are compared with each other, not with the suite's expected files (the
# source package may be a minor version behind the server). Any difference
# fails, except those listed and explained in test/README.md ("Differences
# the extension makes to PostgreSQL's own regression suite"), which are
# matched hunk by hunk.
#
# Slow (two runs of the whole suite, about five minutes): scripts/test runs
# it unless SG_QUICK=1. Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ "${SG_QUICK:-0}" = 1 ]; then
  echo "1..0 # SKIP SG_QUICK=1: PostgreSQL's regression suite left out"
  exit 0
fi
source "$root/scripts/lib/common.sh"
set +e
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }

echo "1..5"
work=$(mktemp -d /tmp/sg_pg_regress.XXXXXX)
chmod 755 "$work"
# DROP EXTENSION leaves the schema the extension was created in (PostgreSQL
# creates it for the control file's schema, as a plain schema): it goes too,
# or every database created later from template1 would hold it.
untemplate() { psql -X -q -d template1 -c "DROP EXTENSION IF EXISTS schema_guard" -c "DROP SCHEMA IF EXISTS schema_guard" >/dev/null 2>&1; }
trap 'rm -rf "$work"; untemplate' EXIT

suite=$(sg_pg_regress_source) && [ -f "$suite/parallel_schedule" ]
ok $? "the core regression suite of $(basename "$(dirname "$(dirname "$(dirname "$suite")")")") is at hand" || exit 1

# The suite's C functions (regress.so, built from its source) next to the
# server's autoinc.so and refint.so.
mkdir -p "$work/lib"
pkglibdir=$("$PG_CONFIG" --pkglibdir)
cc -O2 -fPIC -shared -I"$("$PG_CONFIG" --includedir-server)" -o "$work/lib/regress.so" \
  "$suite/regress.c" >"$work/cc.log" 2>&1 \
  && ln -s "$pkglibdir/autoinc.so" "$pkglibdir/refint.so" "$work/lib/"
ok $? "regress.so builds" || sed 's/^/# /' "$work/cc.log"

run_suite() {  # $1: output directory name; further arguments go to pg_regress
  local out="$work/$1"
  shift
  mkdir -p "$out"
  cp -r "$suite" "$work/src-$(basename "$out")"
  local src="$work/src-$(basename "$out")"
  chown -R postgres: "$work" 2>/dev/null
  local as=()
  [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  "${as[@]}" env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
    "$("$PG_CONFIG" --pgxs | xargs dirname)/../test/regress/pg_regress" \
    --inputdir="$src" --outputdir="$out" --bindir="$PG_BINDIR" --dlpath="$work/lib" \
    --schedule="$src/parallel_schedule" --max-concurrent-tests=20 \
    --host="$PGHOST" --port="$PGPORT" --user=postgres "$@" >"$out.log" 2>&1
  # A run fails on the suite's own expected files wherever the source is
  # a minor version behind the server; only a crash makes it unusable.
  ! grep -qE "terminated by signal|server closed the connection unexpectedly|connection to server was lost" "$out.log" "$out"/results/*.out 2>/dev/null
}
run_suite plain --dbname=sg_regress_plain
ok $? "the suite runs against the plain server" || tail -20 "$work/plain.log" | sed 's/^/# /'

# Objects the first run leaves behind would make the second run's first
# DROP ROLE statements fail (rowsecurity): its database goes first.
dropdb sg_regress_plain >/dev/null 2>&1
psql -X -q -d template1 -c "CREATE EXTENSION IF NOT EXISTS schema_guard" >/dev/null
run_suite guarded --dbname=sg_regress_guard --load-extension=schema_guard
ok $? "the suite runs with schema_guard installed, and nothing crashes" || tail -20 "$work/guarded.log" | sed 's/^/# /'
untemplate

# Compare the results hunk by hunk, dropping the hunks test/README.md lists.
diff -r -U2 "$work/plain/results" "$work/guarded/results" \
  | sed -e "s/sg_regress_plain/DB/g" -e "s/sg_regress_guard/DB/g" >"$work/results.diff"
python3 "$here/regress_allowed.py" "$root/test/README.md" "$work/results.diff" >"$work/unexplained.diff"
allowed=$?
# Kept for reading after the run (scripts/test collects build/test-output).
mkdir -p "$root/build/test-output" && cp "$work/results.diff" "$work/unexplained.diff" "$root/build/test-output/" 2>/dev/null
(exit $allowed)
ok $? "the two runs differ only where test/README.md explains why ($(grep -c '^@@' "$work/results.diff") hunks compared)" \
  || head -150 "$work/unexplained.diff" | sed 's/^/# /'

exit $((fails > 0))
