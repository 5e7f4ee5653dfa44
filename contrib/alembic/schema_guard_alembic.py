"""Exports an Alembic project's revision graph for schema_guard.

    python3 -m schema_guard_alembic -c alembic.ini --output graph.json
    echo "SELECT schema_guard.declare_migrations(:'graph')" | psql -v graph="$(cat graph.json)"

Reads the revisions the way Alembic does (ScriptDirectory): each revision's
down_revision(s) become its "dependencies", its depends_on (resolved to
revisions, as Alembic resolves branch labels) its "depends_on", and its own
branch labels and file are kept. What each upgrade() creates comes from
rendering it offline, as `alembic upgrade --sql` does, without a database:
the tables it creates and the columns it adds, less anything any revision
drops or renames, so that `alembic stamp` of a revision whose DDL never ran
is caught as faked_migration. A revision that cannot be rendered offline
(it reads the database) is exported without "creates", with a warning.
"""

import argparse
import io
import json
import os
import re
import sys

from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

FORMAT = "schema_guard.migrations/1"
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUAL = rf"{_IDENT}(?:\.{_IDENT})?"
_CREATE_TABLE = re.compile(rf"^CREATE TABLE (?:IF NOT EXISTS )?({_QUAL}) \(", re.M)
_ADD_COLUMN = re.compile(
    rf"^ALTER TABLE (?:ONLY )?({_QUAL}) ADD COLUMN (?:IF NOT EXISTS )?({_IDENT})", re.M)
_DROP_TABLE = re.compile(rf"^DROP TABLE (?:IF EXISTS )?({_QUAL})", re.M)
_DROP_COLUMN = re.compile(
    rf"^ALTER TABLE (?:ONLY )?({_QUAL}) DROP COLUMN (?:IF EXISTS )?({_IDENT})", re.M)
_RENAME_TABLE = re.compile(rf"^ALTER TABLE (?:ONLY )?({_QUAL}) RENAME TO ", re.M)
_RENAME_COLUMN = re.compile(
    rf"^ALTER TABLE (?:ONLY )?({_QUAL}) RENAME (?:COLUMN )?({_IDENT}) TO ", re.M)


def _unquote(name):
    parts = re.findall(_IDENT, name)
    return ".".join(p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
                    for p in parts)


def render(script, fn="upgrade"):
    """The SQL of one revision's upgrade() (or downgrade()), rendered offline."""
    buf = io.StringIO()
    ctx = MigrationContext.configure(
        dialect_name="postgresql",
        opts={"as_sql": True, "output_buffer": buf, "literal_binds": True})
    with Operations.context(ctx):
        getattr(script.module, fn)()
    return buf.getvalue()


def _ordered_revisions(scripts):
    """The revisions in the revision map's order (the order Alembic's own
    topological sort breaks ties by), without the branch-label keys."""
    rev_map = scripts.revision_map._revision_map
    return [rev for key, rev in rev_map.items()
            if isinstance(key, str) and rev is not None and rev.revision == key]


def export(config, history_table=None):
    scripts = ScriptDirectory.from_config(config)
    revisions = _ordered_revisions(scripts)
    creates, dropped, warnings = {}, set(), []
    for rev in revisions:
        try:
            sql = render(rev)
        except Exception as exc:  # reads the database, or fails offline
            warnings.append(f"revision {rev.revision}: upgrade() cannot be rendered "
                            f"offline ({type(exc).__name__}: {exc}); exported without "
                            f"\"creates\"")
            continue
        tables = [_unquote(t) for t in _CREATE_TABLE.findall(sql)]
        columns = [[_unquote(t), _unquote(c)] for t, c in _ADD_COLUMN.findall(sql)]
        creates[rev.revision] = (tables, columns)
        dropped.update(_unquote(t) for t in _DROP_TABLE.findall(sql))
        dropped.update(_unquote(t) for t in _RENAME_TABLE.findall(sql))
        dropped.update(f"{_unquote(t)}.{_unquote(c)}" for t, c in _DROP_COLUMN.findall(sql))
        dropped.update(f"{_unquote(t)}.{_unquote(c)}" for t, c in _RENAME_COLUMN.findall(sql))
    root = os.path.dirname(os.path.abspath(config.config_file_name or "."))
    migrations = []
    for rev in revisions:
        m = {"name": rev.revision,
             "dependencies": list(rev._versioned_down_revisions)}
        depends_on = list(rev._resolved_dependencies)
        if depends_on:
            m["depends_on"] = depends_on
        labels = sorted(rev._orig_branch_labels)
        if labels:
            m["branch_labels"] = labels
        m["file"] = os.path.relpath(rev.path, root)
        if rev.doc:
            m["description"] = rev.doc
        if rev.revision in creates:
            tables, columns = creates[rev.revision]
            tables = [t for t in tables if t not in dropped]
            columns = [c for c in columns
                       if f"{c[0]}.{c[1]}" not in dropped and c[0] not in dropped]
            m["creates"] = {"tables": tables, "columns": columns}
        migrations.append(m)
    graph = {"format": FORMAT, "framework": "alembic",
             "source": f"alembic {scripts.dir}", "migrations": migrations}
    if history_table:
        graph["history_table"] = history_table
    return graph, warnings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=os.environ.get("ALEMBIC_CONFIG", "alembic.ini"),
                        help="the project's alembic.ini (default: alembic.ini)")
    parser.add_argument("-n", "--name", default="alembic", help="the ini section (default: alembic)")
    parser.add_argument("--history-table",
                        help="the version table, if env.py names another (version_table=...)")
    parser.add_argument("--output", default="-", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    graph, warnings = export(Config(args.config, ini_section=args.name), args.history_table)
    for w in warnings:
        print(f"schema_guard_alembic: warning: {w}", file=sys.stderr)
    text = json.dumps(graph, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
