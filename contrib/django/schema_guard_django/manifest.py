"""The expected schema from the models: a manifest for schema_guard.expect().

Written from the installed models the way Django's PostgreSQL schema editor
builds them, without a database: tables, columns (``field.db_type``), NOT
NULL, database defaults (``db_default``, Django 5), serial and identity
keys, primary keys, unique constraints (``unique``, ``unique_together``,
``UniqueConstraint``), the CHECKs of positive integer fields, foreign keys
(DEFERRABLE INITIALLY DEFERRED, as Django makes them), indexes (``db_index``,
foreign keys, the ``_like`` indexes of varchar and text columns,
``index_together``, ``Meta.indexes``), and the auto-created many-to-many
tables (listed as join tables). Unmanaged, proxy and swapped-out models are
left out; ``django_migrations`` is in.

Expressions PostgreSQL stores in its own words (``CheckConstraint`` bodies,
index conditions and expressions, ``db_default``) are compared as PostgreSQL
prints them; ``Pending`` items carry Django's SQL for them, and
``database.print_pending()`` asks a database to print them (in temporary
tables, rolled back). Without a database they keep Django's spelling.
"""
import re

from django.apps import apps as installed_apps
from django.db import models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

FORMAT = "schema_guard/1"

# PostgreSQL 15's keywords that quote_ident() quotes (all but the
# unreserved ones): column names are compared as PostgreSQL prints them.
_KEYWORDS = frozenset("""
all analyse analyze and any array as asc asymmetric authorization between
bigint binary bit boolean both case cast char character check coalesce collate
collation column concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp
current_user dec decimal default deferrable desc distinct do else end except
exists extract false fetch float for foreign freeze from full grant greatest
group grouping having ilike in initially inner inout int integer intersect
interval into is isnull join lateral leading least left like limit localtime
localtimestamp national natural nchar none normalize not notnull null nullif
numeric offset on only or order out outer overlaps overlay placing position
precision primary real references returning right row select session_user
setof similar smallint some substring symmetric table tablesample then time
timestamp to trailing treat trim true union unique user using values varchar
variadic verbose when where window with xmlattributes xmlconcat xmlelement
xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable
""".split())

_POSITIVE_CHECK = re.compile(r'^"([^"]+)" >= 0$')

_INDEX_METHODS = {"idx": "btree"}


def quote_ident(name):
    """An identifier as PostgreSQL's quote_ident() prints it."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in _KEYWORDS:
        return name
    return '"%s"' % name.replace('"', '""')


def object_name(name1, name2, label):
    """The name PostgreSQL gives an unnamed constraint (makeObjectName)."""
    available = 63 - len(label) - 1 - (1 if name2 else 0)
    len1, len2 = len(name1), len(name2)
    while len1 + len2 > available:
        if len1 > len2:
            len1 -= 1
        else:
            len2 -= 1
    return "_".join([name1[:len1]] + ([name2[:len2]] if name2 else []) + [label])


class Pending:
    """A manifest entry whose expression text a database must print.

    ``statement`` is Django's SQL creating it on the model's table; ``entry``
    is the manifest dictionary to fill in (``kind``: check, index, default).
    """

    def __init__(self, table, kind, name, statement, entry):
        self.table, self.kind, self.name = table, kind, name
        self.statement, self.entry = statement, entry

    def describe(self):
        return "%s %s on %s" % (self.kind, self.name, self.table["name"])


class ManifestBuilder:
    def __init__(self, connection, schema="public"):
        self.connection = connection
        self.schema = schema
        # Builds SQL only: nothing is executed, no connection is opened.
        self.editor = connection.schema_editor(collect_sql=True, atomic=False)
        self.pending = []
        self.notes = []
        self._state_apps = None

    def _migrated_pk_type(self, model):
        """The primary key type migrate gives an auto-created join table.

        Migrations render models without the apps' configs, so a join table
        of an app whose default_auto_field differs from DEFAULT_AUTO_FIELD
        (django.contrib.auth's) gets the setting's type, not the app's.
        """
        if self._state_apps is None:
            try:
                loader = MigrationLoader(None, ignore_no_migrations=True)
                self._state_apps = loader.project_state().apps
            except Exception as error:  # conflicting leaves, broken graph
                self._state_apps = False
                self.notes.append("join table keys follow the models, not the "
                                  "migrations (%s)" % error)
        if not self._state_apps:
            return None
        try:
            migrated = self._state_apps.get_model(model._meta.app_label,
                                                  model._meta.model_name)
        except LookupError:
            return None
        return migrated._meta.pk.db_type(connection=self.connection)

    def build(self):
        tables, join_tables = [], []
        for model in self._models():
            tables.append(self._table(model))
            if model._meta.auto_created:
                join_tables.append("%s.%s" % (self.schema, model._meta.db_table))
        tables.sort(key=lambda t: t["name"])
        return {
            "format": FORMAT,
            "source": "django models",
            "tables": tables,
            "join_tables": sorted(join_tables),
        }

    def _models(self):
        chosen = [MigrationRecorder.Migration]
        for model in installed_apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.managed and not meta.proxy and not meta.swapped:
                chosen.append(model)
        return chosen

    # --- one table ------------------------------------------------------

    def _table(self, model):
        meta = model._meta
        app = meta.app_label
        table = {"schema": self.schema, "name": meta.db_table, "app": app,
                 "columns": [], "unique": [], "checks": [], "foreign_keys": [],
                 "indexes": []}
        for field in meta.local_concrete_fields:
            self._field(model, table, field)
        for fields in meta.unique_together:
            columns = [meta.get_field(f).column for f in fields]
            table["unique"].append({"name": self._index_name(meta.db_table, columns, "_uniq"),
                                    "columns": columns})
        for fields in getattr(meta, "index_together", ()):
            columns = [meta.get_field(f).column for f in fields]
            table["indexes"].append(self._plain_index(
                self._index_name(meta.db_table, columns, "_idx"), columns))
        for index in meta.indexes:
            self._meta_index(model, table, index)
        for constraint in meta.constraints:
            self._constraint(model, table, constraint)
        for key in ("unique", "checks", "foreign_keys", "indexes"):
            if not table[key]:
                del table[key]
        return table

    def _field(self, model, table, field):
        name, column = model._meta.db_table, field.column
        params = field.db_parameters(connection=self.connection)
        db_type = params["type"]
        if db_type is None:
            return
        if field.primary_key and model._meta.auto_created:
            db_type = self._migrated_pk_type(model) or db_type
        entry = {"name": column, "type": db_type, "not_null": not field.null}
        suffix = field.db_type_suffix(connection=self.connection) or ""
        if "GENERATED BY DEFAULT AS IDENTITY" in suffix.upper():
            entry["identity"] = "by_default"
        elif "GENERATED ALWAYS AS IDENTITY" in suffix.upper():
            entry["identity"] = "always"
        if getattr(field, "db_collation", None):
            entry["collation"] = field.db_collation
        self._db_default(model, table, field, entry)
        table["columns"].append(entry)
        if field.primary_key:
            table["primary_key"] = {"name": object_name(name, "", "pkey"),
                                    "columns": [column]}
        elif field.unique:
            table["unique"].append({"name": object_name(name, column, "key"),
                                    "columns": [column]})
        if params.get("check"):
            self._column_check(model, table, field, params["check"])
        if field.remote_field and getattr(field, "db_constraint", False):
            self._foreign_key(table, field)
        if field.db_index and not field.unique:
            table["indexes"].append(self._plain_index(
                self._index_name(name, [column], ""), [column]))
        if (field.db_index or field.unique) and "[" not in db_type and (
                db_type.startswith("varchar") or db_type.startswith("text")):
            table["indexes"].append(self._plain_index(
                self._index_name(name, [column], "_like"), [column]))

    def _db_default(self, model, table, field, entry):
        db_default = getattr(field, "db_default", models.NOT_PROVIDED)
        if db_default is models.NOT_PROVIDED:
            return
        sql, params = self.editor.db_default_sql(field)
        sql = sql % tuple(self.editor.quote_value(p) for p in params)
        entry["default"] = sql
        statement = "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s" % (
            self.editor.quote_name(table["name"]),
            self.editor.quote_name(field.column), sql)
        self.pending.append(Pending(table, "default", field.column, statement, entry))

    def _column_check(self, model, table, field, check):
        name = object_name(table["name"], field.column, "check")
        positive = _POSITIVE_CHECK.match(check)
        if positive and positive.group(1) == field.column:
            expression = "CHECK (%s >= 0)" % quote_ident(field.column)
            table["checks"].append({"name": name, "expression": expression})
            return
        entry = {"name": name, "expression": "CHECK (%s)" % check}
        table["checks"].append(entry)
        statement = "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)" % (
            self.editor.quote_name(table["name"]), self.editor.quote_name(name), check)
        self.pending.append(Pending(table, "check", name, statement, entry))

    def _foreign_key(self, table, field):
        target = field.target_field
        to_table, to_column = target.model._meta.db_table, target.column
        table["foreign_keys"].append({
            "name": self._index_name(table["name"], [field.column],
                                     "_fk_%s_%s" % (to_table, to_column)),
            "columns": [field.column],
            "references": {"schema": self.schema, "table": to_table,
                           "columns": [to_column]},
            "deferrable": True,
            "initially_deferred": True,
        })

    def _index_name(self, table, columns, suffix):
        return self.editor._create_index_name(table, columns, suffix=suffix)

    @staticmethod
    def _plain_index(name, columns, unique=False, method="btree", include=()):
        index = {"name": name, "keys": [quote_ident(c) for c in columns],
                 "method": method}
        if unique:
            index["unique"] = True
        if include:
            index["include"] = [quote_ident(c) for c in include]
        return index

    # --- Meta.indexes and Meta.constraints ------------------------------

    def _columns(self, model, names):
        return [model._meta.get_field(n.lstrip("-")).column for n in names]

    def _meta_index(self, model, table, index):
        method = _INDEX_METHODS.get(index.suffix, index.suffix)
        include = self._columns(model, getattr(index, "include", ()) or ())
        expressions = getattr(index, "expressions", None)
        columns = None if expressions else self._columns(model, index.fields)
        if expressions or index.condition is not None:
            self._pending_index(model, table, index, columns, False, method, include)
            return
        table["indexes"].append(self._plain_index(
            index.name, columns, method=method, include=include))

    def _constraint(self, model, table, constraint):
        if isinstance(constraint, models.CheckConstraint):
            try:
                body = constraint._get_check_sql(model, self.editor)
            except Exception:
                body = str(constraint.check)
            entry = {"name": constraint.name, "expression": "CHECK (%s)" % body}
            table["checks"].append(entry)
            self.pending.append(Pending(table, "check", constraint.name,
                                        str(constraint.create_sql(model, self.editor)),
                                        entry))
            return
        if not isinstance(constraint, models.UniqueConstraint):
            self.notes.append(
                "%s: constraint %s (%s) is not described by the manifest"
                % (table["name"], constraint.name, type(constraint).__name__))
            return
        include = self._columns(model, getattr(constraint, "include", ()) or ())
        expressions = getattr(constraint, "expressions", None)
        columns = None if expressions else self._columns(model, constraint.fields)
        if expressions or constraint.condition is not None:
            self._pending_index(model, table, constraint, columns, True, "btree", include)
            return
        if include or getattr(constraint, "opclasses", None):
            table["indexes"].append(self._plain_index(
                constraint.name, columns, unique=True, include=include))
            return
        table["unique"].append({"name": constraint.name, "columns": columns})

    def _pending_index(self, model, table, index, columns, unique, method, include):
        """An index with a condition or expression keys (``columns`` None)."""
        statement = index.create_sql(model, self.editor)
        keys = ([quote_ident(c) for c in columns] if columns is not None
                else [str(statement.parts.get("columns", index.name))])
        entry = {"name": index.name, "keys": keys, "method": method}
        if unique:
            entry["unique"] = True
        if include:
            entry["include"] = [quote_ident(c) for c in include]
        condition = str(statement.parts.get("condition") or "").strip()
        if condition.upper().startswith("WHERE "):
            entry["where"] = condition[6:].strip()
        table["indexes"].append(entry)
        self.pending.append(Pending(table, "index", index.name, str(statement), entry))


def model_manifest(connection, schema="public"):
    """The manifest, the entries a database must print, and notes."""
    builder = ManifestBuilder(connection, schema)
    document = builder.build()
    return document, builder.pending, builder.notes
