#!/usr/bin/env bash
# docs/django.md and docs/ci.md run as written: each in a fresh copy of the
# six-app project (test/fixtures/django_project) next to a copy of the
# checkout (../schema_guard), with a fresh database in PGDATABASE. Their
# fenced blocks run in order: ```sh with bash -e in the project directory,
# ```sql through psql with ON_ERROR_STOP, ```python appended to the
# project's settings.py; ```text is output and is not run. For
# docs/django.md the project starts without schema_guard_django in
# INSTALLED_APPS (the document adds it); docs/ci.md starts where
# docs/django.md ends, with the app in the settings.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/sg_docs.XXXXXX)
trap 'rm -rf "$tmp"; dropdb --if-exists sg_docs_django >/dev/null 2>&1; dropdb --if-exists sg_docs_ci >/dev/null 2>&1' EXIT
chmod 755 "$tmp"

# Splits a document into numbered block files: NNN.sh, NNN.sql, NNN.python.
blocks() {
  awk -v dir="$2" '
    /^```(sh|sql|python)$/ { lang = substr($0, 4); k++; file = sprintf("%s/%03d.%s", dir, k, lang); next }
    /^```/ { if (file != "") { close(file); file = "" } next }
    file != "" { print > file }
  ' "$1"
}

# Runs every block of a document; one TAP line per block. With "bare", the
# project starts without schema_guard_django in INSTALLED_APPS.
run_doc() {
  local doc=$1 db=$2 start=$3 dir=$tmp/$2
  mkdir -p "$dir/blocks" "$dir/schema_guard"
  cp -r "$root/contrib" "$dir/schema_guard/contrib"
  cp -r "$root/test/fixtures/django_project" "$dir/project"
  if [ "$start" = bare ]; then
    sed -i '/"schema_guard_django",/d' "$dir/project/licence_site/settings.py"
  fi
  chmod -R a+rX "$dir"
  dropdb --if-exists "$db" >/dev/null 2>&1
  createdb "$db"
  blocks "$root/docs/$doc" "$dir/blocks"
  local block lang
  for block in "$dir"/blocks/*; do
    lang=${block##*.}
    case $lang in
      # Debian's python3 (with python3-django), whatever else is on PATH.
      sh) (cd "$dir/project" && PATH=/usr/bin:$PATH PGDATABASE=$db bash -e "$block") >"$block.log" 2>&1 ;;
      sql) psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$block" >"$block.log" 2>&1 ;;
      python) cat "$block" >>"$dir/project/licence_site/settings.py" ;;
    esac
    ok $? "docs/$doc block $(basename "$block" ."$lang") ($lang): $(head -n 1 "$block")" || sed 's/^/# /' "$block.log"
  done
}

echo "1..$(($(grep -c '^```\(sh\|sql\|python\)$' "$root/docs/django.md" "$root/docs/ci.md" | cut -d: -f2 | paste -sd+) + 4))"

run_doc django.md sg_docs_django bare
grep -q "schema_guard_django" "$tmp/sg_docs_django/project/licence_site/settings.py"
ok $? "docs/django.md added the app to INSTALLED_APPS itself"
export PGDATABASE=sg_docs_django
[ "$(psql -X -t -A -c "SELECT migrations FROM schema_guard.migration_graph")" = 23 ] \
  && [ "$(psql -X -t -A -c "SELECT source FROM schema_guard.expected_schema")" = "release 2026.12" ]
ok $? "docs/django.md left the graph and the expected schema in the database"

run_doc ci.md sg_docs_ci with_app
export PGDATABASE=sg_docs_ci
[ "$(psql -X -t -A -c "SELECT count(*) FROM pg_extension WHERE extname IN ('schema_guard', 'pgtap', 'schema_guard_tap')")" = 3 ]
ok $? "docs/ci.md installed schema_guard, pgtap and schema_guard_tap"
grep -q "^All tests successful" "$tmp/sg_docs_ci/blocks/"*.sh.log
ok $? "and its pgTAP suite passed under pg_prove"

[ "$fails" -eq 0 ]
