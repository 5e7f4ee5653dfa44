#!/usr/bin/env python3
"""Prints the catalog queries schema_guard's catalog reader runs, one a line:

  name <TAB> query

taken from the constexpr R"SQL(...)SQL" strings of src/pg/catalog_reader.cpp,
on one line, with $1 (the schema list) replaced by the given SQL expression.
Queries that take other parameters are left out (named on stderr).
Used by bench/schema_check/run to time each of them by hand.

  catalog_queries.py SOURCE [SCHEMAS_SQL]     (default ARRAY['public'])
"""
import re
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    source = open(sys.argv[1]).read()
    schemas = sys.argv[2] if len(sys.argv) > 2 else "ARRAY['public']"
    found = re.findall(r'constexpr\s+const\s+char\s*\*\s*(k\w+)\s*=\s*R"SQL\((.*?)\)SQL"',
                       source, re.S)
    if not found:
        sys.exit("no catalog query found in " + sys.argv[1])
    for name, sql in found:
        flat = " ".join(sql.split())
        if re.sub(r"nspname = ANY \(\$1\)", "", flat).find("$") >= 0:
            # a parameter other than the schema list (e.g. relation OIDs)
            print(f"catalog_queries.py: skipping {name}: it takes other parameters",
                  file=sys.stderr)
            continue
        print(name + "\t" + flat.replace("$1", "(" + schemas + ")::text[]"))


if __name__ == "__main__":
    main()
