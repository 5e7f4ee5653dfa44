"""Lint the SQL that Django will run, in the target database.

    python manage.py schema_guard_lint                  # every pending migration
    python manage.py schema_guard_lint shop             # shop's pending migrations
    python manage.py schema_guard_lint shop 0007        # one migration, applied or not
    python manage.py schema_guard_lint --fail-on warning

Collects what ``sqlmigrate`` would print for each migration, operation by
operation, joins it into one script (BEGIN/COMMIT around atomic
migrations, as Django runs them) and lints it with schema_guard.lint() in
the database the migrations will run against, so the findings are scaled by
the live size of each table. Each finding is printed with the migration and
the operation it came from. The exit status is 1 when a finding is at
least as severe as --fail-on (default: error).
"""
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor

LEVELS = {"info": 0, "warning": 1, "error": 2}
DEFERRED = " (deferred to the end of the migration)"


class Statement:
    def __init__(self, first_line, last_line, migration, operation):
        self.first_line = first_line
        self.last_line = last_line
        self.migration = migration
        self.operation = operation


class Script:
    """The script being assembled, and where each statement came from."""

    def __init__(self):
        self.lines = []
        self.statements = []

    def add(self, sql, migration, operation):
        first = len(self.lines) + 1
        self.lines.extend(sql.rstrip().splitlines() or [""])
        self.statements.append(Statement(first, len(self.lines), migration, operation))

    def origin(self, line):
        for statement in self.statements:
            if statement.first_line <= line <= statement.last_line:
                return statement
        return None

    def text(self):
        return "\n".join(self.lines) + "\n"


def _collect(connection, loader, migration, script):
    """Adds the SQL of one migration's operations, as sqlmigrate makes it."""
    label = "%s.%s" % (migration.app_label, migration.name)
    state = loader.project_state((migration.app_label, migration.name), at_end=False)
    wrap = migration.atomic and connection.features.can_rollback_ddl
    if wrap:
        script.add("BEGIN;", label, "(transaction)")
    # Django defers some statements (indexes, foreign keys) to the end of
    # the migration; each is credited to the operation that deferred it.
    deferred_by = {}
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
        for operation in migration.operations:
            if not operation.reduces_to_sql:
                continue
            before = len(editor.collected_sql)
            deferred_before = len(editor.deferred_sql)
            new_state = state.clone()
            operation.state_forwards(migration.app_label, new_state)
            operation.database_forwards(migration.app_label, editor, state, new_state)
            state = new_state
            for sql in editor.collected_sql[before:]:
                script.add(sql, label, operation.describe())
            for deferred in editor.deferred_sql[deferred_before:]:
                deferred_by[id(deferred)] = operation.describe() + DEFERRED
        deferred_from = len(editor.collected_sql)
        pending = [deferred_by.get(id(d), DEFERRED.strip()) for d in editor.deferred_sql]
    for sql, operation in zip(editor.collected_sql[deferred_from:], pending):
        script.add(sql, label, operation)
    if wrap:
        script.add("COMMIT;", label, "(transaction)")


class Command(BaseCommand):
    help = (
        "Lint the SQL of pending (or named) migrations with schema_guard.lint() "
        "against the live table sizes of the target database."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_label", nargs="?", help="only this app's migrations")
        parser.add_argument(
            "migration_name", nargs="?", help="only this migration (a name or its prefix)"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--fail-on",
            choices=["error", "warning", "info", "never"],
            default="error",
            help="exit with status 1 on a finding at least this severe (default: error)",
        )

    def _plan(self, executor, app_label, migration_name):
        loader = executor.loader
        if app_label and app_label not in loader.migrated_apps:
            raise CommandError("App '%s' does not have migrations." % app_label)
        if migration_name:
            try:
                migration = loader.get_migration_by_prefix(app_label, migration_name)
            except (AmbiguityError, KeyError) as error:
                raise CommandError(str(error))
            return [migration]
        leaves = [
            leaf
            for leaf in loader.graph.leaf_nodes()
            if app_label is None or leaf[0] == app_label
        ]
        return [
            migration
            for migration, backwards in executor.migration_plan(leaves)
            if not backwards
        ]

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        executor = MigrationExecutor(connection)
        migrations = self._plan(executor, options["app_label"], options["migration_name"])
        if not migrations:
            self.stdout.write("No pending migrations.")
            return
        script = Script()
        for migration in migrations:
            _collect(connection, executor.loader, migration, script)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT line, rule, severity, object, message, hint, lock,"
                " table_rows, table_bytes"
                " FROM schema_guard.lint(%s, false) ORDER BY statement_no, rule",
                [script.text()],
            )
            findings = cursor.fetchall()
        self._report(script, migrations, findings)
        fail_on = options["fail_on"]
        if fail_on != "never" and any(
            LEVELS[f[2]] >= LEVELS[fail_on] for f in findings
        ):
            raise CommandError(
                "schema_guard_lint: findings at level %s or above." % fail_on,
                returncode=1,
            )

    def _report(self, script, migrations, findings):
        counts = {"error": 0, "warning": 0, "info": 0}
        heading = None
        for line, rule, severity, obj, message, hint, lock, rows, size in findings:
            counts[severity] += 1
            origin = script.origin(line)
            where = (origin.migration, origin.operation) if origin else ("?", "?")
            if where != heading:
                heading = where
                self.stdout.write("%s: %s" % where)
            facts = [f for f in (obj, lock and lock + " lock") if f]
            if rows is not None:
                facts.append("about %d rows, %d bytes" % (rows, size))
            self.stdout.write("  %-7s %s  (%s)" % (severity, rule, ", ".join(facts)))
            self.stdout.write("          %s" % message)
            self.stdout.write("          hint: %s" % hint)
        self.stdout.write(
            "%d findings (%d errors, %d warnings, %d info) in %d statements of %d migrations."
            % (
                len(findings),
                counts["error"],
                counts["warning"],
                counts["info"],
                len(script.statements),
                len(migrations),
            )
        )
