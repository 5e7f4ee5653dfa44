#!/usr/bin/env bash
# manage.py schema_guard_lint against a real Django project and a real
# server: Django's own makemigrations builds the migrations, the command
# lints what migrate would run with the live table sizes, prints each
# finding with its migration and operation, and fails at --fail-on. Then
# migrate runs the flagged migration with the DDL guard in warn mode.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" "$@"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_django_lint
proj=$(mktemp -d /tmp/sg_django_lint.XXXXXX)
trap 'rm -rf "$proj"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
PY=/usr/bin/python3

echo "1..12"
createdb $db
q -c "CREATE EXTENSION schema_guard"
# Findings on 20,000 rows are errors here; the guard acts from 10,000.
q -c "ALTER DATABASE $db SET schema_guard.lint_error_rows = 20000" \
  -c "ALTER DATABASE $db SET schema_guard.guard_min_rows = 10000"

mkdir -p "$proj/shop" "$proj/sales"
touch "$proj/shop/__init__.py" "$proj/sales/__init__.py"
cat >"$proj/shop/settings.py" <<PYEOF
SECRET_KEY = "test"
INSTALLED_APPS = ["sales", "schema_guard_django"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "$db",
             "USER": "${PGUSER:-postgres}", "HOST": "${PGHOST:-}", "PORT": "${PGPORT:-5432}"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PYEOF
cat >"$proj/manage.py" <<'PYEOF'
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
PYEOF
cat >"$proj/sales/models.py" <<'PYEOF'
from django.db import models
class Invoice(models.Model):
    number = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
class Region(models.Model):
    code = models.CharField(max_length=6)
PYEOF
manage() { (cd "$proj" && PYTHONPATH="$root/contrib/django" $PY manage.py "$@"); }
chmod -R a+rX "$proj"

manage makemigrations sales >/dev/null
out=$(manage schema_guard_lint 2>&1); rc=$?
[ $rc = 0 ] && grep -q "^sales.0001_initial: Create model Invoice" <<<"$out"
ok $? "the initial migration lints clean of errors, findings listed under their migration and operation (rc $rc)"
manage migrate >/dev/null
ok $? "Django's migrate runs"
q -c "INSERT INTO sales_invoice (number, amount) SELECT 'N' || g, g FROM generate_series(1, 30000) g" \
  -c "INSERT INTO sales_region (code) VALUES ('IN-MH'), ('IN-KA')" -c "ANALYZE sales_invoice, sales_region"
out=$(manage schema_guard_lint 2>&1); rc=$?
[ $rc = 0 ] && grep -q "No pending migrations" <<<"$out"
ok $? "nothing pending: nothing to lint"

# Indexes on a large table and on a small one, and a new required field.
cat >"$proj/sales/models.py" <<'PYEOF'
from django.db import models
class Invoice(models.Model):
    number = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    issued = models.DateField(null=True, db_index=True)
class Region(models.Model):
    code = models.CharField(max_length=6)
    class Meta:
        indexes = [models.Index(fields=["code"], name="sales_region_code_idx")]
PYEOF
manage makemigrations sales --name invoice_issued >/dev/null
out=$(manage schema_guard_lint 2>&1); rc=$?
[ $rc = 1 ]
ok $? "an index on 30,000 rows fails --fail-on error (rc $rc)"
grep -q "^sales.0002_invoice_issued: Add field issued to invoice (deferred to the end of the migration)" <<<"$out"
ok $? "the finding names its migration and operation"
grep -qE "^  error +require-concurrent-index-creation  \(sales_invoice_issued_[0-9a-f]+, SHARE lock, about 30000 rows" <<<"$out"
ok $? "the index on sales_invoice is an error, with the live row count"
grep -qE "^  info +require-concurrent-index-creation  \(sales_region_code_idx, SHARE lock, about 2 rows" <<<"$out"
ok $? "the same index on a 2-row table is info"
grep -qE "^[0-9]+ findings \([1-9][0-9]* errors" <<<"$out"
ok $? "a summary line counts the findings"
manage schema_guard_lint sales 0001 --fail-on error >/dev/null 2>&1
ok $? "a named migration (sales 0001) is linted on request and passes"
manage schema_guard_lint sales 0001 --fail-on info >/dev/null 2>&1
[ $? = 1 ]
ok $? "--fail-on info fails on its prefer-* advice"

# migrate runs the flagged migration: the guard warns (default) and records it.
out=$(manage migrate sales 2>&1); rc=$?
[ $rc = 0 ]
ok $? "migrate applies it in warn mode (rc $rc)"
[ "$(q -c "SELECT count(*) FROM schema_guard.guard_event WHERE action = 'warned' AND rule = 'require-concurrent-index-creation' AND object LIKE 'sales_invoice_issued_%'")" = 1 ]
ok $? "the guard recorded the warned index build in guard_event"

[ "$fails" -eq 0 ]
