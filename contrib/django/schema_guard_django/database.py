"""What the app asks the database: printing expressions, loading the
manifest and the graph, running the checks."""
import json

from django.db import transaction

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
_SERIAL = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}


def _temp_table_sql(editor, table):
    columns = ", ".join(
        "%s %s" % (editor.quote_name(c["name"]), _SERIAL.get(c["type"], c["type"]))
        for c in table["columns"]
    )
    return "CREATE TEMPORARY TABLE %s (%s)" % (editor.quote_name(table["name"]), columns)


def _read_check(cursor, pending):
    cursor.execute(
        "SELECT pg_catalog.pg_get_constraintdef(c.oid, true)"
        " FROM pg_catalog.pg_constraint c"
        " WHERE c.conrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)"
        " AND c.conname OPERATOR(pg_catalog.=) %s",
        ["pg_temp." + pending.editor_table, pending.name],
    )
    pending.entry["expression"] = cursor.fetchone()[0]


def _read_index(cursor, pending):
    cursor.execute(
        "SELECT i.indexrelid, i.indnkeyatts, i.indnatts, i.indkey::int2[],"
        " pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)"
        " FROM pg_catalog.pg_index i"
        " WHERE i.indexrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)",
        ["pg_temp." + pending.editor_name],
    )
    oid, nkeys, natts, indkey, predicate = cursor.fetchone()
    keys = []
    for position in range(1, natts + 1):
        cursor.execute(
            "SELECT CASE WHEN %s OPERATOR(pg_catalog.<>) 0"
            " THEN pg_catalog.quote_ident(a.attname::text)"
            " ELSE pg_catalog.pg_get_indexdef(%s, %s, true) END"
            " FROM pg_catalog.pg_index i LEFT JOIN pg_catalog.pg_attribute a"
            " ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid"
            " AND a.attnum OPERATOR(pg_catalog.=) %s"
            " WHERE i.indexrelid OPERATOR(pg_catalog.=) %s",
            [indkey[position - 1], oid, position, indkey[position - 1], oid],
        )
        keys.append(cursor.fetchone()[0])
    pending.entry["keys"] = keys[:nkeys]
    if natts > nkeys:
        pending.entry["include"] = keys[nkeys:]
    if predicate:
        pending.entry["where"] = predicate
    else:
        pending.entry.pop("where", None)


def _read_default(cursor, pending):
    cursor.execute(
        "SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a"
        " ON a.attrelid OPERATOR(pg_catalog.=) d.adrelid"
        " AND a.attnum OPERATOR(pg_catalog.=) d.adnum"
        " WHERE d.adrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)"
        " AND a.attname OPERATOR(pg_catalog.=) %s",
        ["pg_temp." + pending.editor_table, pending.name],
    )
    pending.entry["default"] = cursor.fetchone()[0]


_READERS = {"check": _read_check, "index": _read_index, "default": _read_default}


def print_pending(connection, pending):
    """Has the database print the pending expressions as it stores them.

    Each table with such entries is made as a temporary table of the same
    name (it shadows the real one on the search path), Django's own SQL
    creates the constraint, index or default on it, and the catalog's
    printing replaces the manifest text. Everything is rolled back.
    """
    if not pending:
        return
    editor = connection.schema_editor(collect_sql=True, atomic=False)
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            made = set()
            for item in pending:
                name = item.table["name"]
                if name not in made:
                    cursor.execute(_temp_table_sql(editor, item.table))
                    made.add(name)
                cursor.execute(item.statement)
                item.editor_table = editor.quote_name(name)
                item.editor_name = editor.quote_name(item.name)
                _READERS[item.kind](cursor, item)
        transaction.set_rollback(True, using=connection.alias)


def has_schema_guard(cursor):
    cursor.execute(
        "SELECT 1 FROM pg_catalog.pg_extension"
        " WHERE extname OPERATOR(pg_catalog.=) 'schema_guard'"
    )
    return cursor.fetchone() is not None


def declare_graph(cursor, graph):
    cursor.execute("SELECT schema_guard.declare_migrations(%s::jsonb)", [json.dumps(graph)])
    return cursor.fetchone()[0]


def expect_manifest(cursor, manifest, source):
    cursor.execute("SELECT schema_guard.expect(%s::jsonb, %s)", [json.dumps(manifest), source])
    return cursor.fetchone()[0]


_FINDING_COLUMNS = ("severity", "kind", "app", "object", "message", "expected",
                    "actual", "fix")


def findings(cursor, function, argument):
    cursor.execute(
        "SELECT %s FROM schema_guard.%s(%%s)" % (", ".join(_FINDING_COLUMNS), function),
        [argument],
    )
    return [dict(zip(_FINDING_COLUMNS, row)) for row in cursor.fetchall()]


def report(cursor, sql, argument):
    cursor.execute(sql, [argument])
    return cursor.fetchone()[0]
