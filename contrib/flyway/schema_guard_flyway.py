"""Exports a Flyway project's migrations for schema_guard.

    python3 -m schema_guard_flyway --locations db/migration --output graph.json
    echo "SELECT schema_guard.declare_migrations(:'graph')" | psql -v graph="$(cat graph.json)"

Reads the migration folders by Flyway's naming rules (the defaults of
sqlMigrationPrefix V, undoSqlMigrationPrefix U, repeatableSqlMigrationPrefix
R, separator "__", suffix ".sql"): each versioned script V<version>__<desc>.sql
is a migration named by its version (1_1 is 1.1), with Flyway's checksum of
it, so that a script changed after it was applied is caught as checksum_mismatch
as `flyway validate` catches it. Repeatable (R__) and undo (U) scripts are
listed on standard error, not exported: Flyway re-runs the first when they
change, and the second undo a version. Flyway needs no database to run this.
"""

import argparse
import json
import os
import re
import sys
import zlib

FORMAT = "schema_guard.migrations/1"
_VERSIONED = re.compile(r"^V(?P<version>[0-9]+(?:[._][0-9]+)*)__(?P<desc>.*)\.sql$")
_OTHER = re.compile(r"^(?:R__.*|U[0-9]+(?:[._][0-9]+)*__.*)\.sql$")


def flyway_checksum(data, encoding="utf-8"):
    """Flyway's ChecksumCalculator: the CRC-32 of the script's lines, read as
    Java's BufferedReader.readLine() reads them (split at \\n, \\r or \\r\\n,
    without the line breaks), a byte-order mark dropped from the first, each
    line's UTF-8 bytes in turn; as a signed 32-bit integer."""
    text = data.decode(encoding)
    if not text:
        return 0
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()  # readLine() yields no line after the last line break
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    crc = 0
    for line in lines:
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def export(locations, root=".", history_table=None, encoding="utf-8"):
    migrations, skipped = [], []
    for location in locations:
        for dirpath, _dirs, files in sorted(os.walk(location)):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                m = _VERSIONED.match(name)
                if not m:
                    if _OTHER.match(name):
                        skipped.append(path)
                    continue
                with open(path, "rb") as f:
                    checksum = flyway_checksum(f.read(), encoding)
                migrations.append({
                    "name": m.group("version").replace("_", "."),
                    "description": m.group("desc").replace("_", " "),
                    "file": os.path.relpath(path, root),
                    "checksum": checksum,
                })
    # In version order, as Flyway resolves them (numerically, segment by
    # segment; 1.1.0 is 1.1).
    def version_key(m):
        parts = [int(p) for p in m["name"].split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return parts
    migrations.sort(key=version_key)
    graph = {"format": FORMAT, "framework": "flyway",
             "source": "flyway " + ",".join(locations), "migrations": migrations}
    if history_table:
        graph["history_table"] = history_table
    return graph, skipped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", default="db/migration",
                        help="comma-separated migration folders (default: db/migration)")
    parser.add_argument("--history-table", help="flyway.table, if not flyway_schema_history "
                        "(schema-qualified when not in public)")
    parser.add_argument("--encoding", default="utf-8", help="flyway.encoding (default: utf-8)")
    parser.add_argument("--output", default="-", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    graph, skipped = export(args.locations.split(","), history_table=args.history_table,
                            encoding=args.encoding)
    for path in skipped:
        print(f"schema_guard_flyway: not exported (repeatable or undo): {path}", file=sys.stderr)
    text = json.dumps(graph, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
