#!/usr/bin/env bash
# schema_guard against the real ActiveRecord (Debian's ruby-activerecord 6.1,
# ruby-pg): migrations run by ActiveRecord::MigrationContext through a full
# and a partial migrate, an older migration still pending, a ghost version, a
# duplicate version, a rollback, a disable_ddl_transaction! index and a
# hand-made ALTER; after each, the exporter (contrib/rails) declares the
# graph and schema_guard's findings, plan, counts and every audit row's
# migration are compared with ActiveRecord's own migrations_status,
# needs_migration? and pending migrations (rails_real.rb). Runs against the
# cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_rails
work=$(mktemp -d /tmp/sg_rails.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c "CREATE EXTENSION schema_guard" || { echo "1..1"; echo "not ok 1 - set-up"; exit 1; }
cd "$work" && ruby "$root/test/shell/rails_real.rb" "$root" "$work" "$db"
