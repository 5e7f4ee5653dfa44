#!/usr/bin/env python3
"""Generates the schema-check benchmark's DDL.  See bench/README.md.

  gen_schema.py --tables N --out DIR

writes into DIR:
  schema.sql    N tables x 20 columns, each with a primary key; a secondary
                index on every other table (N/2), a foreign key on every
                fourth (N/4), a CHECK constraint on every tenth, a bigserial
                id on every fifth; a function per tenth table (N/10), a
                trigger on every tenth (N/10), a grant on every fourth (N/4).
                Meant to be run in one transaction.
  drift.sql     23 scattered differences from schema.sql.
  expected.tsv  kind <TAB> object, one line per difference, as check() is
                expected to report it (the kinds; the objects are a guide).

Deterministic: the same N gives the same files.
"""
import argparse
import os

APPS = ["sales", "billing", "crm", "stock", "hr", "ledger", "ship", "auth",
        "catalog", "report", "support", "market", "payroll", "audit", "asset",
        "fleet", "quote", "vendor", "tax", "event"]
NOUNS = ["item", "order", "entry", "record", "line", "note", "batch", "slot"]

# The 19 columns after id: (name, type, NOT NULL, default).  varchar(n)'s
# length varies with the table.
COLUMNS = [
    ("ref_id", "bigint", False, None),  # parent_id, a foreign key, on every 4th table
    ("qty", "integer", True, "0"),
    ("code", "varchar({n})", True, None),
    ("title", "text", False, None),
    ("amount", "numeric(14,2)", True, "0"),
    ("created_at", "timestamptz", True, "now()"),
    ("updated_at", "timestamptz", False, None),
    ("is_active", "boolean", True, "true"),
    ("due_on", "date", False, None),
    ("payload", "jsonb", False, "'{}'::jsonb"),
    ("rank", "smallint", False, None),
    ("external_id", "uuid", False, None),
    ("ratio", "double precision", False, None),
    ("logged_at", "timestamp", False, None),
    ("email", "varchar(255)", False, None),
    ("tags", "text[]", False, None),
    ("duration", "interval", False, None),
    ("blob", "bytea", False, None),
    ("country", "char(2)", False, "'FR'"),
]
FK_ACTIONS = ["", " ON DELETE CASCADE", " ON DELETE SET NULL", " ON DELETE RESTRICT"]


def table_name(i):
    return f"{APPS[i % len(APPS)]}_{NOUNS[(i // len(APPS)) % len(NOUNS)]}_{i:05d}"


def has_index(i):
    return i % 2 == 1


def has_fk(i):
    return i % 4 == 0 and i > 0


def index_ddl(i):
    t = table_name(i)
    v = (i // 2) % 7
    if v == 0:
        return f"CREATE INDEX {t}_code_idx ON {t} (code);", "code"
    if v == 1:
        return f"CREATE INDEX {t}_created_at_idx ON {t} (created_at);", "created_at"
    if v == 2:
        return f"CREATE INDEX {t}_ref_id_idx ON {t} (ref_id);", "ref_id"
    if v == 3:
        return f"CREATE INDEX {t}_qty_is_active_idx ON {t} (qty, is_active);", "qty"
    if v == 4:
        return f"CREATE UNIQUE INDEX {t}_email_key ON {t} (email);", "email"
    if v == 5:
        return (f"CREATE INDEX {t}_due_on_idx ON {t} (due_on) WHERE is_active;",
                "due_on")
    return f"CREATE INDEX {t}_lower_email_idx ON {t} (lower(email::text));", "email"


def index_name(i):
    ddl = index_ddl(i)[0]
    return ddl.split()[3] if ddl.startswith("CREATE UNIQUE") else ddl.split()[2]


def has_function(i):
    return i % 10 == 5


def has_trigger(i):
    return i % 10 == 7


def has_grant(i):
    return i % 4 == 1


def extras_ddl(i):
    """A function, a trigger and a grant, on some tables."""
    t = table_name(i)
    out = []
    if has_function(i):
        out.append(f"CREATE FUNCTION {t}_total(x integer) RETURNS integer LANGUAGE sql "
                   f"IMMUTABLE AS $$ SELECT x + {i} $$;")
    if has_trigger(i):
        out.append(f"CREATE TRIGGER {t}_touch BEFORE UPDATE ON {t} FOR EACH ROW "
                   f"EXECUTE FUNCTION bench_touch();")
    if has_grant(i):
        out.append(f"GRANT SELECT ON {t} TO bench_reader;")
    return out


def create_table(i):
    t = table_name(i)
    lines = []
    idtype = "bigserial" if i % 5 == 0 else "bigint"
    lines.append(f"  id {idtype} NOT NULL")
    for name, typ, notnull, default in COLUMNS:
        if name == "ref_id" and has_fk(i):
            name = "parent_id"
        typ = typ.format(n=20 + (i * 7) % 200)
        col = f"  {name} {typ}"
        if notnull:
            col += " NOT NULL"
        if default is not None:
            col += f" DEFAULT {default}"
        lines.append(col)
    lines.append(f"  CONSTRAINT {t}_pkey PRIMARY KEY (id)")
    if has_fk(i):
        lines.append(f"  CONSTRAINT {t}_parent_id_fkey FOREIGN KEY (parent_id) "
                     f"REFERENCES {table_name(i - 1)} (id){FK_ACTIONS[(i // 4) % 4]}")
    if i % 10 == 3:
        lines.append(f"  CONSTRAINT {t}_amount_check CHECK (amount >= 0)")
    return f"CREATE TABLE {t} (\n" + ",\n".join(lines) + "\n);"


def pick(n, frac, want):
    """The first table index at or after frac*n that satisfies want()."""
    i = int(n * frac)
    while not want(i):
        i += 1
    return i


def drift(n):
    """20 differences: (ddl, kind, object)."""
    plain = lambda i: not has_index(i) and not has_fk(i) and i % 10 != 3  # noqa: E731
    out = []
    used = set()

    def at(frac, want):
        i = pick(n, frac, lambda k: want(k) and k not in used and k + 1 < n)
        used.add(i)
        return i

    # 3 dropped columns (title: never indexed)
    for frac in (0.03, 0.41, 0.77):
        i = at(frac, lambda k: True)
        t = table_name(i)
        out.append((f"ALTER TABLE {t} DROP COLUMN title;", "missing_column", f"{t}.title"))
    # 3 type changes on unindexed columns
    i = at(0.11, plain)
    t = table_name(i)
    out.append((f"ALTER TABLE {t} ALTER COLUMN qty TYPE bigint;", "type_mismatch", f"{t}.qty"))
    i = at(0.52, plain)
    t = table_name(i)
    out.append((f"ALTER TABLE {t} ALTER COLUMN code TYPE text;", "type_mismatch", f"{t}.code"))
    i = at(0.93, plain)
    t = table_name(i)
    out.append((f"ALTER TABLE {t} ALTER COLUMN amount TYPE numeric(18,4);", "type_mismatch",
                f"{t}.amount"))
    # 3 dropped secondary indexes
    for frac in (0.07, 0.46, 0.88):
        i = at(frac, has_index)
        out.append((f"DROP INDEX {index_name(i)};", "missing_index", index_name(i)))
    # 3 added columns
    for frac, col in ((0.15, "notes text"), (0.58, "version integer NOT NULL DEFAULT 1"),
                      (0.97, "archived_at timestamptz")):
        i = at(frac, lambda k: True)
        t = table_name(i)
        out.append((f"ALTER TABLE {t} ADD COLUMN {col};", "extra_column",
                    f"{t}.{col.split()[0]}"))
    # 2 dropped tables: no index, no foreign key, not referenced (k % 4 == 2)
    for frac in (0.21, 0.66):
        i = at(frac, lambda k: k % 4 == 2 and k % 10 != 3)
        t = table_name(i)
        out.append((f"DROP TABLE {t};", "missing_table", f"public.{t}"))
    # 2 orphan tables, of shapes no dropped table has
    out.append(("CREATE TABLE zz_orphan_import (id bigint PRIMARY KEY, raw jsonb, seen_at timestamptz);",
                "orphan_table", "public.zz_orphan_import"))
    out.append(("CREATE TABLE tmp_orphan_backup (k text PRIMARY KEY, v bytea);",
                "orphan_table", "public.tmp_orphan_backup"))
    # 1 foreign key action changed
    i = at(0.35, has_fk)
    t = table_name(i)
    action = " ON DELETE SET DEFAULT" if FK_ACTIONS[(i // 4) % 4] == "" else ""
    out.append((f"ALTER TABLE {t} DROP CONSTRAINT {t}_parent_id_fkey, "
                f"ADD CONSTRAINT {t}_parent_id_fkey FOREIGN KEY (parent_id) "
                f"REFERENCES {table_name(i - 1)} (id){action};",
                "constraint_mismatch", f"{t}_parent_id_fkey"))
    # 2 nullability changes
    i = at(0.27, lambda k: True)
    t = table_name(i)
    out.append((f"ALTER TABLE {t} ALTER COLUMN title SET NOT NULL;", "nullability_mismatch",
                f"{t}.title"))
    i = at(0.72, plain)
    t = table_name(i)
    out.append((f"ALTER TABLE {t} ALTER COLUMN code DROP NOT NULL;", "nullability_mismatch",
                f"{t}.code"))
    # 1 default changed
    i = at(0.83, lambda k: True)
    t = table_name(i)
    out.append((f"ALTER TABLE {t} ALTER COLUMN is_active SET DEFAULT false;", "default_mismatch",
                f"{t}.is_active"))
    # 1 function body changed, 1 trigger dropped, 1 grant revoked
    i = at(0.44, has_function)
    t = table_name(i)
    out.append((f"CREATE OR REPLACE FUNCTION {t}_total(x integer) RETURNS integer LANGUAGE sql "
                f"IMMUTABLE AS $$ SELECT x - {i} $$;", "function_mismatch", f"public.{t}_total(integer)"))
    i = at(0.62, has_trigger)
    t = table_name(i)
    out.append((f"DROP TRIGGER {t}_touch ON {t};", "missing_trigger", f"public.{t}.{t}_touch"))
    i = at(0.31, has_grant)
    t = table_name(i)
    out.append((f"REVOKE SELECT ON {t} FROM bench_reader;", "privilege_mismatch", f"public.{t}"))
    assert len(out) == 23, len(out)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", type=int, default=10000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    n = args.tables
    if n < 100:
        ap.error("--tables must be at least 100")
    os.makedirs(args.out, exist_ok=True)
    counts = {"tables": 0, "indexes": 0, "fks": 0, "checks": 0, "serials": 0,
              "functions": 0, "triggers": 0, "grants": 0}
    with open(os.path.join(args.out, "schema.sql"), "w") as f:
        f.write("-- generated by bench/schema_check/gen_schema.py --tables %d\n" % n)
        f.write("SET client_min_messages = warning;\n")
        f.write("DO $$BEGIN CREATE ROLE bench_reader NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END$$;\n")
        f.write("CREATE FUNCTION bench_touch() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RETURN NEW; END $$;\n")
        for i in range(n):
            f.write(create_table(i) + "\n")
            counts["tables"] += 1
            counts["fks"] += has_fk(i)
            counts["checks"] += i % 10 == 3
            counts["serials"] += i % 5 == 0
            if has_index(i):
                f.write(index_ddl(i)[0] + "\n")
                counts["indexes"] += 1
            for ddl in extras_ddl(i):
                f.write(ddl + "\n")
            counts["functions"] += has_function(i)
            counts["triggers"] += has_trigger(i)
            counts["grants"] += has_grant(i)
    changes = drift(n)
    with open(os.path.join(args.out, "drift.sql"), "w") as f:
        f.write("-- %d differences from schema.sql\n" % len(changes))
        for ddl, _, _ in changes:
            f.write(ddl + "\n")
    with open(os.path.join(args.out, "expected.tsv"), "w") as f:
        for _, kind, obj in changes:
            f.write(f"{kind}\t{obj}\n")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
