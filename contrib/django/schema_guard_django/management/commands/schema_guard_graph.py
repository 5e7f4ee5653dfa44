"""Export the project's migration graph for schema_guard.declare_migrations().

    python manage.py schema_guard_graph > migrations.json
    echo "SELECT schema_guard.declare_migrations(:'graph')" |
        psql -v graph="$(cat migrations.json)"

Every migration file of every installed app is exported with its
dependencies (``__first__`` and ``__latest__`` resolved), what it replaces
(squashed migrations), whether it is atomic, and what it creates: the tables
of its CreateModel operations and the columns of its AddField operations
that still exist once every migration has run (so a later DeleteModel or
RemoveField does not make an applied migration look faked).
"""
import json

from django.core.management.base import BaseCommand
from django.db.migrations import operations
from django.db.migrations.loader import MigrationLoader

FORMAT = "schema_guard.migrations/1"


def _table(app_label, model_state):
    table = model_state.options.get("db_table")
    return table or "%s_%s" % (app_label, model_state.name_lower)


def _concrete(model_state):
    options = model_state.options
    return options.get("managed", True) and not options.get("proxy", False)


def _column(name, field):
    field = field.clone()
    field.set_attributes_from_name(name)
    if field.many_to_many:
        return None
    return field.column


def _final_schema(loader):
    """The tables and (table, column) pairs that exist after every migration."""
    state = loader.project_state()
    tables, columns = set(), set()
    for (app_label, _), model_state in state.models.items():
        if not _concrete(model_state):
            continue
        table = _table(app_label, model_state)
        tables.add(table)
        for name, field in model_state.fields.items():
            column = _column(name, field)
            if column:
                columns.add((table, column))
    return tables, columns


def _creates(loader, key, migration, final_tables, final_columns):
    tables, columns = [], []
    state = None
    for op in migration.operations:
        if isinstance(op, operations.CreateModel):
            options = dict(op.options)
            if not options.get("managed", True) or options.get("proxy", False):
                continue
            table = options.get("db_table") or "%s_%s" % (key[0], op.name_lower)
            if table in final_tables:
                tables.append(table)
        elif isinstance(op, operations.AddField):
            if state is None:
                try:
                    state = loader.project_state(key, at_end=True)
                except Exception:  # a migration a squash stands for
                    state = False
            model_state = (
                state.models.get((key[0], op.model_name_lower)) if state else None
            )
            if model_state is not None and not _concrete(model_state):
                continue
            table = (
                _table(key[0], model_state)
                if model_state is not None
                else "%s_%s" % (key[0], op.model_name_lower)
            )
            column = _column(op.name, op.field)
            if column and (table, column) in final_columns:
                columns.append([table, column])
    return tables, columns


class Command(BaseCommand):
    help = "Print the migration graph as JSON for schema_guard.declare_migrations()."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="write to this file instead of stdout")

    def handle(self, *args, **options):
        loader = MigrationLoader(None, ignore_no_migrations=True)
        final_tables, final_columns = _final_schema(loader)
        migrations = []
        for key in sorted(loader.disk_migrations):
            migration = loader.disk_migrations[key]
            dependencies = []
            for parent in migration.dependencies:
                resolved = loader.check_key(parent, key[0])
                if resolved is None and parent[1] in ("__first__", "__latest__"):
                    continue  # an app without migrations
                dependencies.append(list(resolved or parent))
            tables, columns = _creates(loader, key, migration, final_tables, final_columns)
            entry = {"app": key[0], "name": key[1], "dependencies": dependencies}
            if migration.replaces:
                entry["replaces"] = [list(r) for r in migration.replaces]
            entry["atomic"] = bool(getattr(migration, "atomic", True))
            if tables or columns:
                entry["creates"] = {"tables": tables, "columns": columns}
            migrations.append(entry)
        document = json.dumps(
            {"format": FORMAT, "framework": "django", "migrations": migrations},
            indent=1,
        )
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(document + "\n")
        else:
            self.stdout.write(document)
