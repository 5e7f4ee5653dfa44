#!/usr/bin/env bash
# The Django app (contrib/django) as a Django team adopts it: installed with
# pip from the checkout (offline, Debian's python3-django and setuptools),
# into a virtualenv and with --target; Django's own migrate, the exporter,
# the CI check and its exit codes, against the six-app licence project
# (test/fixtures/django_project: a custom user model, foreign keys,
# many-to-many fields, unique_together, a CheckConstraint, a conditional
# index, a squash, a RunPython step). Then what goes wrong in such projects:
# hand-made DDL, a model changed without a migration, migrate --fake, a
# graph left stale after migrate, run_before, and a graph whose two
# branches have no common ancestor (Django's test_migrations_no_ancestor).
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_django_app
tmp=$(mktemp -d /tmp/sg_django_app.XXXXXX)
trap 'rm -rf "$tmp"; dropdb --if-exists $db >/dev/null 2>&1; dropdb --if-exists ${db}_2 >/dev/null 2>&1' EXIT
chmod 755 "$tmp"
dropdb --if-exists $db >/dev/null 2>&1
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" "$@"; }

echo "1..44"

# --- Installing ----------------------------------------------------------

# A copy of the checkout's contrib/django: pip builds in the source tree.
cp -r "$root/contrib" "$tmp/src"
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv" >"$tmp/venv.log" 2>&1 \
  && "$tmp/venv/bin/pip" install --no-build-isolation "$tmp/src/django" >"$tmp/pip.log" 2>&1
ok $? "pip install --no-build-isolation ./contrib/django into a venv, offline" || cat "$tmp/venv.log" "$tmp/pip.log"
PY=$tmp/venv/bin/python
[ "$(cd / && $PY -c 'import schema_guard_django, os; print(os.path.dirname(schema_guard_django.__file__))')" \
  = "$(cd / && $PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/schema_guard_django" ]
ok $? "the app is imported from the venv's site-packages, no PYTHONPATH"
/usr/bin/python3 -m pip install --no-build-isolation --no-deps --target "$tmp/target" "$tmp/src/django" >"$tmp/pip-target.log" 2>&1 \
  && [ -f "$tmp/target/schema_guard_django/management/commands/schema_guard_check.py" ]
ok $? "pip install --no-deps --target DIR puts the app with its commands in DIR" || cat "$tmp/pip-target.log"

# --- The six-app project -------------------------------------------------

cp -r "$root/test/fixtures/django_project" "$tmp/project"
chmod -R a+rX "$tmp"
export PGDATABASE=$db
manage() { (cd "$tmp/project" && $PY manage.py "$@"); }
createdb $db && q -c "CREATE EXTENSION schema_guard"

manage migrate >"$tmp/migrate.log" 2>&1
ok $? "manage.py migrate builds the six-app project" || cat "$tmp/migrate.log"
grep -q "schema_guard: migration graph declared (23 migrations)" "$tmp/migrate.log"
ok $? "post_migrate declared the graph once"
[ "$(q -c "SELECT migrations FROM schema_guard.migration_graph WHERE framework = 'django'")" = 23 ]
ok $? "the database holds the graph of all 23 migrations"

manage schema_guard_export --manifest "$tmp/schema.json" --graph "$tmp/migrations.json" 2>"$tmp/export.err"
ok $? "schema_guard_export writes the manifest and the graph"
[ ! -s "$tmp/export.err" ]
ok $? "with a database at hand it has nothing to warn about" || cat "$tmp/export.err"
chmod a+r "$tmp"/*.json
[ "$(q -c "SELECT schema_guard.expect(pg_read_file('$tmp/schema.json')::jsonb)")" = 17 ]
ok $? "expect() takes the manifest: 17 tables"
f=$(q -c "SELECT coalesce(string_agg(kind || ' ' || object, ', '), '') FROM schema_guard.check()")
[ "$f" = "" ]
ok $? "the manifest from the models has no finding against what migrate built ($f)"
q -c "SELECT schema_guard.declare_migrations(pg_read_file('$tmp/migrations.json')::jsonb)" >/dev/null
f=$(q -c "SELECT coalesce(string_agg(kind || ' ' || object, ', '), '') FROM schema_guard.migration_check('django')")
[ "$f" = "" ]
ok $? "nor has the graph against django_migrations ($f)"

# What the manifest says about the project.
m() { $PY -c "import json, sys; d = json.load(open('$tmp/schema.json')); t = {x['name']: x for x in d['tables']}; print($1)"; }
[ "$(m "'auth_user' in t, 'accounts_user' in t")" = "False True" ]
ok $? "custom user: the swapped-out auth_user is left out, accounts_user is in"
[ "$(m "sorted(d['join_tables'])")" = "['public.accounts_user_groups', 'public.accounts_user_user_permissions', 'public.auth_group_permissions', 'public.core_company_users', 'public.license_licensedetail_hs_codes']" ]
ok $? "the auto-created many-to-many tables are join tables"
[ "$(m "t['license_licensedetail']['checks'], t['trade_licensetrade']['indexes'][-1]['where']")" \
  = "[{'name': 'cif_value_not_negative', 'expression': 'CHECK (cif_value >= 0::numeric)'}] NOT settled" ]
ok $? "CheckConstraint and index condition as PostgreSQL prints them"
[ "$(m "[u['columns'] for u in t['license_licensedetail']['unique']]")" = "[['license_number'], ['exporter_id', 'license_date']]" ]
ok $? "unique and unique_together"
g=$($PY -c "import json; d = json.load(open('$tmp/migrations.json')); print([x.get('creates') for x in d['migrations'] if x['app'] == 'auth' and x['name'] == '0001_initial'])")
[ "$g" = "[{'tables': ['auth_permission', 'auth_group'], 'columns': []}]" ]
ok $? "the graph: auth.0001_initial does not claim the swapped-out auth_user ($g)"

manage schema_guard_export --offline --manifest "$tmp/offline.json" 2>"$tmp/offline.err"
grep -q "2 expressions keep Django's spelling and will not compare equal until exported with a database: check cif_value_not_negative on license_licensedetail, index open_trades_idx on trade_licensetrade" "$tmp/offline.err"
ok $? "--offline: the two expressions PostgreSQL words differently are named" || cat "$tmp/offline.err"

# --- The CI check ------------------------------------------------------------

manage schema_guard_check >"$tmp/check.out" 2>&1
ok $? "schema_guard_check on the migrated project exits 0" || cat "$tmp/check.out"
grep -q "The live schema matches the expected schema." "$tmp/check.out" \
  && grep -q "everything is consistent" "$tmp/check.out" \
  && grep -q "model changes without a migration: none" "$tmp/check.out"
ok $? "and prints schema_check(), migration_check() and the model check"
manage schema_guard_check --json >"$tmp/check.json" 2>"$tmp/check.err"
[ "$($PY -c "import json; d = json.load(open('$tmp/check.json')); print(d['failed'], len(d['schema']), len(d['migrations']), len(d['models']))")" = "False 0 0 0" ]
ok $? "--json: one document, not failed"

# Hand-made DDL.
q -c "ALTER TABLE core_company ALTER COLUMN name TYPE varchar(300)"
manage schema_guard_check >"$tmp/check.out" 2>"$tmp/check.err"
rc=$?
[ $rc = 1 ] && grep -q "column public.core_company.name is character varying(300), expected character varying(255)" "$tmp/check.out" \
  && grep -q "CommandError: 1 finding at or above error" "$tmp/check.err"
ok $? "a column changed by hand: exit 1 and the finding (rc $rc)"
manage schema_guard_check --app trade >/dev/null 2>&1
ok $? "--app trade: the core finding does not fail trade's check"
manage schema_guard_check --app noapp >/dev/null 2>"$tmp/check.err"
rc=$?
[ $rc = 1 ] && grep -q "no app 'noapp' in the models; the apps are: accounts, allotment, auth, bill_of_entry, contenttypes, core, license, migrations, trade" "$tmp/check.err"
ok $? "--app noapp is an error naming the apps (rc $rc)"
q -c "ALTER TABLE core_company ALTER COLUMN name TYPE varchar(255)"
q -c "CREATE INDEX core_company_address_idx ON core_company (address)"
manage schema_guard_check >/dev/null 2>&1
ok $? "an extra index (a warning) passes --fail-on error"
manage schema_guard_check --fail-on warning >/dev/null 2>&1
[ $? = 1 ]
ok $? "and fails --fail-on warning"
q -c "DROP INDEX core_company_address_idx"

# A model changed without a migration: both the manifest (a missing column)
# and Django's autodetector (no migration makes it) catch it.
cp "$tmp/project/core/models.py" "$tmp/core_models.py"
sed -i 's/^    address = models.TextField(blank=True)$/&\n    website = models.URLField(blank=True)/' "$tmp/project/core/models.py"
manage schema_guard_check --json >"$tmp/check.json" 2>/dev/null
rc=$?
s=$($PY -c "import json; d = json.load(open('$tmp/check.json')); print(d['failed'], [(f['kind'], f['object']) for f in d['schema']], [(f['kind'], f['fix']) for f in d['models']])")
[ $rc = 1 ] && [ "$s" = "True [('missing_column', 'public.core_company.website')] [('missing_migration', 'python manage.py makemigrations core')]" ]
ok $? "a model changed without a migration: missing_column from the manifest and missing_migration from the autodetector ($s)"
cp "$tmp/core_models.py" "$tmp/project/core/models.py"

# migrate --fake: a new migration recorded but not run.
cat >>"$tmp/project/trade/models.py" <<'PYEOF'
LicenseTrade.add_to_class("note", models.TextField(default=""))
PYEOF
cat >"$tmp/project/trade/migrations/0002_licensetrade_note.py" <<'PYEOF'
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trade", "0001_initial")]
    operations = [migrations.AddField("licensetrade", "note", models.TextField(default=""))]
PYEOF
manage migrate trade --fake >"$tmp/migrate.log" 2>&1
grep -q "schema_guard: migration graph declared (24 migrations)" "$tmp/migrate.log"
ok $? "migrate --fake: post_migrate declared the graph with the new migration"
manage schema_guard_check --json >"$tmp/check.json" 2>/dev/null
rc=$?
s=$($PY -c "import json; d = json.load(open('$tmp/check.json')); print([(f['kind'], f['object']) for f in d['schema']], [(f['severity'], f['kind'], f['object']) for f in d['migrations']])")
[ $rc = 1 ] && [ "$s" = "[('missing_column', 'public.trade_licensetrade.note')] [('error', 'faked_migration', 'trade.0002_licensetrade_note')]" ]
ok $? "the faked migration: faked_migration and the missing column ($s)"
manage migrate trade 0001 --fake >/dev/null 2>&1 && manage migrate >/dev/null 2>&1 && manage schema_guard_check >/dev/null 2>&1
ok $? "applied for real, the check passes again"

# A stale graph: migrate without the re-declare, then with it.
cat >>"$tmp/project/allotment/models.py" <<'PYEOF'
Allotment.add_to_class("remarks", models.TextField(default=""))
PYEOF
cat >"$tmp/project/allotment/migrations/0003_allotment_remarks.py" <<'PYEOF'
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("allotment", "0002_default_allotments")]
    operations = [migrations.AddField("allotment", "remarks", models.TextField(default=""))]
PYEOF
SCHEMA_GUARD_REDECLARE=0 manage migrate >"$tmp/migrate.log" 2>&1
! grep -q "schema_guard: migration graph declared" "$tmp/migrate.log"
ok $? "with SCHEMA_GUARD_REDECLARE = False, migrate leaves the graph alone"
f=$(q -c "SELECT string_agg(kind || ' ' || object, ', ') FROM schema_guard.migration_check('django')")
[ "$f" = "stale_graph allotment.0003_allotment_remarks" ]
ok $? "the graph is stale: the migration it does not know is stale_graph, not a ghost ($f)"
manage migrate >"$tmp/migrate.log" 2>&1
grep -q "schema_guard: migration graph declared (25 migrations)" "$tmp/migrate.log"
ok $? "the next migrate re-declares the graph"
f=$(q -c "SELECT coalesce(string_agg(kind || ' ' || object, ', '), '') FROM schema_guard.migration_check('django')")
[ "$f" = "" ]
ok $? "and nothing is reported ($f)"

# A role that may not declare graphs: migrate succeeds with a warning.
q -c "CREATE ROLE sg_django_app_migrator LOGIN" -c "GRANT ALL ON SCHEMA public TO sg_django_app_migrator" \
  -c "GRANT ALL ON ALL TABLES IN SCHEMA public TO sg_django_app_migrator" \
  -c "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO sg_django_app_migrator"
PGUSER=sg_django_app_migrator manage migrate >"$tmp/migrate.log" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "schema_guard: the migration graph was not re-declared: permission denied for function declare_migrations" "$tmp/migrate.log" \
  && grep -q "GRANT the migrating role EXECUTE ON FUNCTION schema_guard.declare_migrations(jsonb)\|Grant the migrating role EXECUTE ON FUNCTION schema_guard.declare_migrations(jsonb)" "$tmp/migrate.log"
ok $? "a role without EXECUTE on declare_migrations: migrate succeeds and says what to grant (rc $rc)" || cat "$tmp/migrate.log"
q -c "REASSIGN OWNED BY sg_django_app_migrator TO postgres" -c "DROP OWNED BY sg_django_app_migrator" -c "DROP ROLE sg_django_app_migrator"

# No schema_guard in the database (Django's test database): nothing happens.
createdb ${db}_2
PGDATABASE=${db}_2 manage migrate >"$tmp/migrate.log" 2>&1
rc=$?
[ $rc = 0 ] && ! grep -q "schema_guard" "$tmp/migrate.log"
ok $? "migrate into a database without schema_guard says nothing about it (rc $rc)"
PGDATABASE=${db}_2 manage schema_guard_check >/dev/null 2>"$tmp/check.err"
rc=$?
[ $rc = 1 ] && grep -q "the extension schema_guard is not installed in this database" "$tmp/check.err"
ok $? "schema_guard_check there is an error saying so (rc $rc)"

# --- run_before and a graph without a common ancestor -------------------

mkdir -p "$tmp/graphs/graphs" "$tmp/graphs/migrations" "$tmp/graphs/run_before" "$tmp/graphs/no_ancestor"
touch "$tmp/graphs/graphs/__init__.py" "$tmp/graphs/migrations/__init__.py" \
      "$tmp/graphs/run_before/__init__.py" "$tmp/graphs/no_ancestor/__init__.py"
cat >"$tmp/graphs/graphs/settings.py" <<PYEOF
import os
SECRET_KEY = "test"
INSTALLED_APPS = ["migrations", "schema_guard_django"]
MIGRATION_MODULES = {"migrations": os.environ["GRAPH"]}
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "$db"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PYEOF
cat >"$tmp/graphs/manage.py" <<'PYEOF'
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "graphs.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
PYEOF
# Django's tests/migrations/test_migrations_run_before, in short.
cat >"$tmp/graphs/run_before/0001_initial.py" <<'PYEOF'
from django.db import migrations, models
class Migration(migrations.Migration):
    operations = [migrations.CreateModel("Salamander", [("id", models.AutoField(primary_key=True)),
                                                        ("size", models.IntegerField(default=0))])]
PYEOF
cat >"$tmp/graphs/run_before/0002_second.py" <<'PYEOF'
from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("migrations", "0001_initial")]
    operations = [migrations.CreateModel("Book", [("id", models.AutoField(primary_key=True))])]
PYEOF
cat >"$tmp/graphs/run_before/0003_third.py" <<'PYEOF'
from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("migrations", "0001_initial")]
    run_before = [("migrations", "0002_second")]
    operations = [migrations.CreateModel("Author", [("id", models.AutoField(primary_key=True))])]
PYEOF
# Django's tests/migrations/test_migrations_no_ancestor: both branches
# delete Tribble, and 0002_conflicting_second has no dependency at all.
cat >"$tmp/graphs/no_ancestor/0001_initial.py" <<'PYEOF'
from django.db import migrations, models
class Migration(migrations.Migration):
    operations = [
        migrations.CreateModel("Author", [("id", models.AutoField(primary_key=True)),
                                          ("silly_field", models.BooleanField(default=False))]),
        migrations.CreateModel("Tribble", [("id", models.AutoField(primary_key=True)),
                                           ("fluffy", models.BooleanField(default=True))]),
    ]
PYEOF
second='    operations = [
        migrations.DeleteModel("Tribble"),
        migrations.RemoveField("Author", "silly_field"),
        migrations.AddField("Author", "rating", models.IntegerField(default=0)),
        migrations.CreateModel("Book", [("id", models.AutoField(primary_key=True)),
            ("author", models.ForeignKey("migrations.Author", models.SET_NULL, null=True))]),
    ]'
printf 'from django.db import migrations, models\nclass Migration(migrations.Migration):\n    dependencies = [("migrations", "0001_initial")]\n%s\n' "$second" \
  >"$tmp/graphs/no_ancestor/0002_second.py"
printf 'from django.db import migrations, models\nclass Migration(migrations.Migration):\n    dependencies = []\n%s\n' "$second" \
  >"$tmp/graphs/no_ancestor/0002_conflicting_second.py"
chmod -R a+rX "$tmp/graphs"
graph() { (cd "$tmp/graphs" && GRAPH=$1 $PY manage.py schema_guard_export --graph "$tmp/$1.json" 2>"$tmp/$1.err"); }

graph run_before
ok $? "run_before: the graph is exported"
deps=$($PY -c "import json; d = json.load(open('$tmp/run_before.json')); print({m['name']: m['dependencies'] for m in d['migrations']}['0002_second'])")
[ "$deps" = "[['migrations', '0001_initial'], ['migrations', '0003_third']]" ]
ok $? "0003_third's run_before makes it a dependency of 0002_second ($deps)"
chmod a+r "$tmp/run_before.json"
q -c "SELECT schema_guard.declare_migrations(pg_read_file('$tmp/run_before.json')::jsonb)" >/dev/null
f=$(q -c "SELECT string_agg(kind || ' ' || object, ', ') FROM schema_guard.migration_check('django') WHERE app = 'migrations' AND kind <> 'pending_migration'")
[ -z "$f" ]
ok $? "one leaf, as Django sees it: no conflicting_leaves ($f)"
plan=$(q -c "SELECT string_agg(name, ' ' ORDER BY step) FROM schema_guard.migration_plan('migrations')")
[ "$plan" = "0001_initial 0003_third 0002_second" ]
ok $? "and the plan runs 0003_third before 0002_second ($plan)"

graph no_ancestor
ok $? "no common ancestor: the exporter does not crash" || cat "$tmp/no_ancestor.err"
grep -q "schema_guard: graph: the state after all leaf migrations cannot be computed (KeyError: ('migrations', 'tribble')); what migrations create was filtered per leaf, and not at all for what only migrations.0002_conflicting_second lead to" "$tmp/no_ancestor.err"
ok $? "and says what it approximated" || cat "$tmp/no_ancestor.err"
s=$($PY -c "import json; d = json.load(open('$tmp/no_ancestor.json')); print([(m['name'], m['dependencies'], m.get('creates')) for m in d['migrations']])")
[ "$s" = "[('0001_initial', [], {'tables': ['migrations_author'], 'columns': []}), ('0002_conflicting_second', [], {'tables': ['migrations_book'], 'columns': [['migrations_author', 'rating']]}), ('0002_second', [['migrations', '0001_initial']], {'tables': ['migrations_book'], 'columns': [['migrations_author', 'rating']]})]" ]
ok $? "what each migration creates, Tribble left out where a leaf deletes it ($s)"
chmod a+r "$tmp/no_ancestor.json"
q -c "SELECT schema_guard.declare_migrations(pg_read_file('$tmp/no_ancestor.json')::jsonb)" >/dev/null
f=$(q -c "SELECT string_agg(kind || ' ' || object, ', ' ORDER BY kind) FROM schema_guard.migration_check('django') WHERE app = 'migrations' AND kind <> 'pending_migration'")
[ "$f" = "conflicting_leaves migrations" ]
ok $? "declared, it shows the conflict Django reports too ($f)"

[ "$fails" -eq 0 ]
