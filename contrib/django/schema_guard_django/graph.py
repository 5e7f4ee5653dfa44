"""The project's migration graph for schema_guard.declare_migrations().

Every migration file of every installed app is exported with its
dependencies as Django's loader resolves them (``__first__`` and
``__latest__``, and the edges ``run_before`` adds to the migrations it names),
what it replaces (squashed migrations), whether it is atomic, and what it
creates: the tables of its CreateModel operations and the columns of its
AddField operations that still exist once every migration has run (so a later
DeleteModel or RemoveField does not make an applied migration look faked).
Unmanaged, proxy and swapped-out models (``auth.User`` under a custom
``AUTH_USER_MODEL``) create nothing.

No database is needed: the loader reads the migration files only.
"""
from django.conf import settings
from django.db.migrations import operations
from django.db.migrations.loader import MigrationLoader

FORMAT = "schema_guard.migrations/1"


def _swapped(app_label, model_name, options):
    """True when a swappable model is replaced by another (AUTH_USER_MODEL)."""
    setting = options.get("swappable")
    if not setting:
        return False
    chosen = getattr(settings, setting, None)
    return bool(chosen) and chosen.lower() != ("%s.%s" % (app_label, model_name)).lower()


def _concrete(app_label, model_name, options):
    return (
        options.get("managed", True)
        and not options.get("proxy", False)
        and not _swapped(app_label, model_name, options)
    )


def _table(app_label, model_name, options):
    return options.get("db_table") or "%s_%s" % (app_label, model_name.lower())


def _column(name, field):
    if field.many_to_many:
        return None
    field = field.clone()
    field.set_attributes_from_name(name)
    return field.column


class FinalSchema:
    """The tables and (table, column) pairs that exist after every migration.

    Django computes the state after all leaves at once; on a graph with
    conflicting leaves that may fail (two branches that both delete a model),
    so the state is then computed per leaf and united, and a migration that
    no computable leaf descends from is exported without the filter.
    ``notes`` says what was approximated.
    """

    def __init__(self, loader):
        self.tables, self.columns = set(), set()
        self.notes = []
        self.covered = None  # None: every migration; else the keys covered
        try:
            self._add(loader.project_state())
            return
        except Exception as error:  # Django's own state code raised
            first_error = error
        self.covered = set()
        failed = []
        for leaf in sorted(loader.graph.leaf_nodes()):
            try:
                self._add(loader.project_state(leaf, at_end=True))
            except Exception:
                failed.append(leaf)
                continue
            self.covered.update(loader.graph.forwards_plan(leaf))
        self.notes.append(
            "the state after all leaf migrations cannot be computed (%s: %s); "
            "what migrations create was filtered per leaf%s"
            % (
                type(first_error).__name__,
                first_error,
                "" if not failed else
                ", and not at all for what only %s lead to"
                % ", ".join("%s.%s" % leaf for leaf in failed),
            )
        )

    def _add(self, state):
        for (app_label, _), model_state in state.models.items():
            if not _concrete(app_label, model_state.name, model_state.options):
                continue
            table = _table(app_label, model_state.name, model_state.options)
            self.tables.add(table)
            fields = model_state.fields
            items = fields.items() if hasattr(fields, "items") else fields
            for name, field in items:
                column = _column(name, field)
                if column:
                    self.columns.add((table, column))

    def has_table(self, key, table):
        return not self._filters(key) or table in self.tables

    def has_column(self, key, table, column):
        return not self._filters(key) or (table, column) in self.columns

    def _filters(self, key):
        return self.covered is None or key in self.covered


def _creates(loader, key, migration, final):
    tables, columns = [], []
    state = None
    for op in migration.operations:
        if isinstance(op, operations.CreateModel):
            options = dict(op.options)
            if not _concrete(key[0], op.name, options):
                continue
            table = _table(key[0], op.name, options)
            if final.has_table(key, table):
                tables.append(table)
        elif isinstance(op, operations.AddField):
            if state is None:
                try:
                    state = loader.project_state(key, at_end=True)
                except Exception:  # a replaced migration, or a broken branch
                    state = False
            model_state = (
                state.models.get((key[0], op.model_name_lower)) if state else None
            )
            if model_state is None:
                table = "%s_%s" % (key[0], op.model_name_lower)
            elif not _concrete(key[0], model_state.name, model_state.options):
                continue
            else:
                table = _table(key[0], model_state.name, model_state.options)
            column = _column(op.name, op.field)
            if column and final.has_column(key, table, column):
                columns.append([table, column])
    return tables, columns


def _dependencies(loader):
    """Each migration's parents as Django's loader links them."""
    parents = {key: [] for key in loader.disk_migrations}

    def add(child, parent):
        if parent is not None and parent not in parents[child]:
            parents[child].append(parent)

    for key, migration in loader.disk_migrations.items():
        for parent in migration.dependencies:
            resolved = loader.check_key(parent, key[0])
            if resolved is None and parent[1] in ("__first__", "__latest__"):
                continue  # an app without migrations
            add(key, tuple(resolved or parent))
        for child in getattr(migration, "run_before", []):
            resolved = loader.check_key(child, key[0])
            target = tuple(resolved or child)
            if target in parents:
                add(target, key)
    return parents


def migration_graph():
    """The graph document and a list of notes on what was approximated.

    Always the whole project: declare_migrations() replaces the framework's
    graph, so a graph of one app would make every other app's rows ghosts.
    """
    loader = MigrationLoader(None, ignore_no_migrations=True)
    final = FinalSchema(loader)
    parents = _dependencies(loader)
    migrations = []
    for key in sorted(loader.disk_migrations):
        migration = loader.disk_migrations[key]
        entry = {
            "app": key[0],
            "name": key[1],
            "dependencies": [list(p) for p in sorted(parents[key])],
        }
        if migration.replaces:
            entry["replaces"] = [list(r) for r in migration.replaces]
        entry["atomic"] = bool(getattr(migration, "atomic", True))
        tables, columns = _creates(loader, key, migration, final)
        if tables or columns:
            entry["creates"] = {"tables": tables, "columns": columns}
        migrations.append(entry)
    document = {"format": FORMAT, "framework": "django", "migrations": migrations}
    return document, final.notes
