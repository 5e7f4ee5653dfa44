#!/usr/bin/env bash
# A real Django project against the real server: Django's own makemigrations
# and migrate (Debian python3-django, psycopg2) build the schema with the
# audit on, the exporter (contrib/django, manage.py schema_guard_graph)
# declares the graph, and migration_check() finds nothing. Then the jobs
# teams do by hand: a migration faked with migrate --fake, a new model not
# migrated yet, a teammate's branch without a merge migration, a squash.
# Every next step the report prints is run as printed (SQL with psql,
# manage.py commands with Django's real manage.py) and must succeed.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" "$@"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_django
proj=$(mktemp -d /tmp/sg_django.XXXXXX)
trap 'rm -rf "$proj"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
PY=/usr/bin/python3

echo "1..28"
createdb $db
q -c "CREATE EXTENSION schema_guard"

# The project: two apps, core and trade.
mkdir -p "$proj/shop" "$proj/core" "$proj/trade"
touch "$proj/shop/__init__.py" "$proj/core/__init__.py" "$proj/trade/__init__.py"
cat >"$proj/shop/settings.py" <<PYEOF
SECRET_KEY = "test"
INSTALLED_APPS = ["core", "trade", "schema_guard_django"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "$db",
             "USER": "${PGUSER:-postgres}", "HOST": "${PGHOST:-}", "PORT": "${PGPORT:-5432}"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# This test declares the graph by hand (schema_guard_graph), so migrate must
# not re-declare it (test/shell/django_app.sh covers the post_migrate one).
SCHEMA_GUARD_REDECLARE = False
PYEOF
cat >"$proj/manage.py" <<'PYEOF'
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
PYEOF
cat >"$proj/core/models.py" <<'PYEOF'
from django.db import models
class Company(models.Model):
    iec = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=255)
PYEOF
cat >"$proj/trade/models.py" <<'PYEOF'
from django.db import models
class Deal(models.Model):
    company = models.ForeignKey("core.Company", on_delete=models.CASCADE)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
PYEOF
manage() { (cd "$proj" && PYTHONPATH="$root/contrib/django" $PY manage.py "$@"); }
declare_graph() { manage schema_guard_graph --output "$proj/graph.json" && q -c "SELECT schema_guard.declare_migrations(pg_read_file('$proj/graph.json')::jsonb)" >/dev/null; }
findings() { q -c "SELECT coalesce(string_agg(kind || ' ' || object, ', ' ORDER BY kind, object), '') FROM schema_guard.migration_check('django')"; }
# Errors and warnings only: a row recorded by a printed step is rightly
# noted (info) as written without DDL.
problems() { q -c "SELECT coalesce(string_agg(kind || ' ' || object, ', ' ORDER BY kind, object), '') FROM schema_guard.migration_check('django') WHERE severity <> 'info'"; }
chmod -R a+rX "$proj"
# The report's next steps, one a line, and running them in order, as printed.
steps() { q -c "SELECT migration_check('django')" | sed -n '/^next steps, in this order:/,$p' | grep -E '^  [^ .]' | sed 's/^  //'; }
run_step() {
  case "$1" in
    "python manage.py "*)
      (cd "$proj" && PYTHONPATH="$root/contrib/django" PGDATABASE=$db bash -c "${1/python /$PY }") ;;
    *) q -c "$1" ;;
  esac
}
ran=""
run_steps() {
  local s rc=0
  ran=""
  while IFS= read -r s; do
    [ -n "$s" ] || continue
    ran="$ran[$s] "
    run_step "$s" >/dev/null 2>"$proj/step.err" || { echo "# step failed: $s"; sed 's/^/#   /' "$proj/step.err" | tail -5; rc=1; }
  done < <(steps)
  [ -n "$ran" ] || rc=1
  return $rc
}

manage makemigrations core trade >/dev/null && manage migrate >/dev/null
ok $? "Django's makemigrations and migrate run against the server"
declare_graph
ok $? "manage.py schema_guard_graph exports the graph and declare_migrations takes it"
[ "$(q -c "SELECT migrations FROM schema_guard.migration_graph WHERE framework = 'django'")" -ge 2 ]
ok $? "the graph lists the project's migrations"
[ "$(q -c "SELECT graph->'migrations'->0 FROM schema_guard.migration_graph" | grep -c '"core_company"')" = 1 ]
ok $? "core.0001_initial declares that it creates core_company"
[ "$(findings)" = "" ]
ok $? "a history Django wrote itself has no finding"
[ "$(q -c "SELECT count(*) FROM schema_guard.ddl_event WHERE migration = 'trade.0001_initial' AND object_identity = 'public.trade_deal'")" -ge 1 ]
ok $? "the audit attributed Django's CREATE TABLE to trade.0001_initial"

# A field added and its migration faked.
cat >>"$proj/core/models.py" <<'PYEOF'
    is_restricted = models.BooleanField(default=False)
PYEOF
manage makemigrations core --name company_is_restricted >/dev/null && manage migrate core --fake >/dev/null && declare_graph
f=$(findings)
[ "$f" = "faked_migration core.0002_company_is_restricted" ]
ok $? "migrate --fake: faked_migration ($f)"
[ "$(q -c "SELECT severity FROM schema_guard.migration_check('django') WHERE kind = 'faked_migration'")" = error ]
ok $? "its column is missing, so it is an error"

# Undo the fake and apply it for real: clean again.
manage migrate core 0001 --fake >/dev/null && manage migrate core >/dev/null
[ "$(findings)" = "" ]
ok $? "applied for real, the history is consistent again"

# A new model, not migrated yet; and a teammate's 0003 on another branch.
cat >>"$proj/trade/models.py" <<'PYEOF'
class Port(models.Model):
    code = models.CharField(max_length=6)
PYEOF
manage makemigrations trade --name port >/dev/null
cat >"$proj/trade/migrations/0002_deal_note.py" <<'PYEOF'
from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("trade", "0001_initial")]
    operations = [migrations.AddField("deal", "note", models.TextField(default=""))]
PYEOF
cat >>"$proj/trade/models.py" <<'PYEOF'
Deal.add_to_class("note", models.TextField(default=""))
PYEOF
declare_graph
f=$(findings)
[ "$f" = "conflicting_leaves trade, pending_migration trade.0002_deal_note, pending_migration trade.0002_port" ]
ok $? "pending migrations, two leaves in trade, their shared number folded in ($f)"
plan=$(q -c "SELECT string_agg(app || '.' || name, ' ' ORDER BY step) FROM schema_guard.migration_plan()")
[ "$plan" = "trade.0002_deal_note trade.0002_port" ]
ok $? "migration_plan() orders them ($plan)"
run_steps
ok $? "the next steps run as printed: $ran"
[ "$ran" = "[python manage.py makemigrations --merge --noinput trade] [python manage.py migrate] " ]
ok $? "they are the merge, then migrate"
declare_graph
f=$(findings)
[ "$f" = "" ]
ok $? "after them there is no finding ($f)"
q -c "SELECT migration_check()" | grep -q "everything is consistent"
ok $? "and the report says so"

# Squash core's two migrations: until migrate records the squash, it is
# ready (info); afterwards nothing is left to report.
manage squashmigrations core 0002 --noinput >/dev/null && declare_graph
f=$(q -c "SELECT severity || ' ' || kind || ' ' || object FROM schema_guard.migration_check('django')")
[ "$f" = "info squash_ready core.0001_squashed_0002_company_is_restricted" ]
ok $? "squashmigrations: squash_ready until migrate records it ($f)"
run_steps
ok $? "its step runs: $ran"
manage migrate >/dev/null
[ "$(findings)" = "" ]
ok $? "migrate finds the squash recorded; no finding"

# A row lost: trade.0001_initial's row deleted while its table and the
# migrations after it are there. Django refuses migrate --fake here
# (InconsistentMigrationHistory); the printed step records the row.
q -c "DELETE FROM django_migrations WHERE app = 'trade' AND name = '0001_initial'"
f=$(findings)
[ "$f" = "inconsistent_history trade.0002_deal_note, inconsistent_history trade.0002_port" ]
ok $? "a lost row: inconsistent_history ($f)"
run_steps
ok $? "the next steps run as printed: $ran"
(cd "$proj" && PYTHONPATH="$root/contrib/django" $PY manage.py migrate --check >/dev/null 2>&1)
ok $? "and Django's migrate --check agrees nothing is left"
f=$(problems)
[ "$f" = "" ]
ok $? "nor does schema_guard ($f)"

# A migration applied after the graph was declared (no re-declare): the
# audit saw its DDL, so the graph is stale; the step declares it again.
cat >>"$proj/core/models.py" <<'PYEOF'
class Branch(models.Model):
    city = models.CharField(max_length=64)
PYEOF
manage makemigrations core --name branch >/dev/null && manage migrate >/dev/null
branch=$(basename "$(ls "$proj"/core/migrations/*_branch.py)" .py)
f=$(problems)
[ "$f" = "stale_graph core.$branch" ]
ok $? "applied after the last declaration: stale_graph, not ghost ($f)"
run_steps
ok $? "the next step re-declares the graph: $ran"
f=$(problems)
[ "$f" = "" ]
ok $? "after which there is no problem ($f)"

# A migration whose tables exist but whose row is gone: safe to fake.
q -c "DELETE FROM django_migrations WHERE app = 'core' AND name = '$branch'"
f=$(q -c "SELECT kind || ' ' || fix FROM schema_guard.migration_check('django') WHERE severity <> 'info'")
[ "$f" = "pending_migration python manage.py migrate --fake core $branch" ]
ok $? "its tables exist: the step fakes it ($f)"
run_steps
ok $? "and runs: $ran"
f=$(problems)
[ "$f" = "" ]
ok $? "leaving no problem ($f)"

[ "$fails" -eq 0 ]
