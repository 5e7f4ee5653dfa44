#!/usr/bin/python3
"""Seeded fuzzer for schema_guard's JSON- and text-taking entry points.

Starts from valid inputs (a manifest from snapshot(), a migration graph,
staging options and rows, labels, patterns, app names), mutates them (JSON
structure: keys dropped, duplicated or renamed, values replaced by other
types, huge, deep, empty, hostile identifiers, escapes, numbers out of
range; text: bytes flipped, cut, repeated) and calls every entry point with
each input in a savepoint of its own. An accepted manifest or graph is then
checked (check(), fix_script(), migration_check(), migration_plan()) so that
what the parsers let through is exercised too.

Each call ends accepted (no error), with a clean error (any SQLSTATE outside
class XX) or with a failure: an internal error (class XX) or a lost
connection (a crashed backend). Prints the tally; exits 1 on any failure.

    bench/fuzz/fuzz.py --inputs 100000 --seed 1     # Debian's python3 (python3-psycopg2); PG* variables
"""
import argparse
import copy
import json
import random
import re
import sys
import time

import psycopg2
import psycopg2.extensions

# Inputs stay below this size: larger ones only measure the parser's speed
# (the entry points' own size limits are tested in test/pgtap/bad_input.sql).
MAX_INPUT_BYTES = 2 * 1024 * 1024

HOSTILE_NAMES = [
    '"', "'", "a\"b", "x; DROP TABLE t; --", "Robert'); DROP TABLE students;--",
    "\\", "\u00e9t\u00e9", "\u0000".replace("\u0000", ""), " ", "", "a" * 70,
    "a" * 5000, "pg_catalog.pg_class", "public.", ".", "..", "\"\"", "%", "_",
    "$1", "\u202e", "select", "NULL", "\U0001F600", "tab\tle", "new\nline",
]

GRAPH = {
    "format": "schema_guard.migrations/1",
    "framework": "django",
    "history_table": "django_migrations",
    "migrations": [
        {"app": "core", "name": "0001_initial", "dependencies": [],
         "creates": {"tables": ["core_company"]}},
        {"app": "core", "name": "0002_invoice", "dependencies": [["core", "0001_initial"]],
         "creates": {"tables": ["core_invoice"]}},
        {"app": "core", "name": "0001_squashed_0002", "dependencies": [],
         "replaces": [["core", "0001_initial"], ["core", "0002_invoice"]]},
        {"app": "trade", "name": "0001_initial", "dependencies": [["core", "0002_invoice"]]},
    ],
}

OPTIONS = {"conflict": "newer_wins", "version_column": "updated_at",
           "touch_column": "synced_at", "check_structure": True}

ROWS = [
    {"external_id": "L-1", "name": "Acme", "amount": "12.50", "updated_at": "2026-01-01T00:00:00Z"},
    {"external_id": "L-2", "name": "Beta", "amount": 3, "updated_at": "2026-01-02T00:00:00Z"},
    {"external_id": "L-1", "name": "Acme 2", "amount": None, "updated_at": "2025-12-31T00:00:00Z"},
]

SETUP = """
DROP SCHEMA IF EXISTS fuzz CASCADE;
CREATE SCHEMA fuzz;
CREATE TABLE IF NOT EXISTS public.django_migrations (id bigserial PRIMARY KEY,
  app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL);
CREATE TABLE fuzz.core_company (id bigserial PRIMARY KEY, name varchar(255) NOT NULL UNIQUE,
  created timestamptz DEFAULT now(), kind text CHECK (kind IN ('a', 'b')));
CREATE TABLE fuzz.core_invoice (id bigserial PRIMARY KEY,
  company_id bigint NOT NULL REFERENCES fuzz.core_company, total numeric(12, 2));
CREATE INDEX ON fuzz.core_invoice (company_id);
CREATE VIEW fuzz.company_names AS SELECT name FROM fuzz.core_company;
CREATE TYPE fuzz.mood AS ENUM ('sad', 'ok');
CREATE TABLE fuzz.licence (external_id text PRIMARY KEY, name text NOT NULL,
  amount numeric(10, 2) CHECK (amount >= 0), updated_at timestamptz, synced_at timestamptz,
  mood fuzz.mood, company_id bigint REFERENCES fuzz.core_company);
"""


class Mutator:
    def __init__(self, rng):
        self.rng = rng

    def scalar(self):
        r = self.rng
        return r.choice([
            None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**400 // 10**380,
            1.5, -0.0, 1e308, "", " ", "x", r.choice(HOSTILE_NAMES),
            "9" * r.choice([1, 20, 400]), "\\u0000", "null", "[]", "{}",
            "2026-13-45", "infinity", "NaN", "x" * r.choice([10, 1000, 100000]),
        ])

    def value(self, depth=0):
        r = self.rng
        kind = r.randrange(10)
        if kind < 6 or depth > 3:
            return self.scalar()
        if kind < 8:
            return [self.value(depth + 1) for _ in range(r.randrange(4))]
        return {r.choice(HOSTILE_NAMES + ["name", "app", "type", "tables"]): self.value(depth + 1)
                for _ in range(r.randrange(4))}

    def mutate(self, doc, rounds=None):
        doc = copy.deepcopy(doc)
        for _ in range(rounds or self.rng.randint(1, 4)):
            doc = self.mutate_once(doc)
        return doc

    def paths(self, doc):
        stack = [((), doc)]
        while stack:
            prefix, node = stack.pop()
            yield prefix
            if len(prefix) > 12:
                continue
            if isinstance(node, dict):
                stack.extend((prefix + (k,), v) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((prefix + (i,), v) for i, v in enumerate(node[:50]))

    def mutate_once(self, doc):
        r = self.rng
        paths = list(self.paths(doc))
        path = r.choice(paths)
        if not path:
            return self.value() if r.random() < 0.05 else doc
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        key = path[-1]
        op = r.randrange(9)
        if op == 0:  # drop
            del parent[key]
        elif op == 1:  # replace by another type
            parent[key] = self.value()
        elif op == 2 and isinstance(parent, dict):  # rename a key
            parent[r.choice(HOSTILE_NAMES)] = parent.pop(key)
        elif op == 3 and isinstance(parent[key], list):  # repeat elements
            factor = r.choice([2, 10, 1000])
            if len(json.dumps(parent[key])) * factor <= MAX_INPUT_BYTES:
                parent[key] = parent[key] * factor
        elif op == 4 and isinstance(parent[key], str):  # hostile string
            parent[key] = r.choice(HOSTILE_NAMES) + parent[key] * r.choice([1, 2])
        elif op == 5:  # nest deeply (spelled out when the document is written)
            parent[key] = f"__deep_{r.choice([2, 50, 3000, 100000])}__"
        elif op == 6 and isinstance(parent, list):  # duplicate an element
            parent.append(copy.deepcopy(parent[key]))
        elif op == 7:  # empty container
            parent[key] = r.choice([[], {}, ""])
        else:
            parent[key] = self.scalar()
        return doc

    def text(self, s):
        """Byte-level mutations of JSON or plain text (kept valid UTF-8)."""
        r = self.rng
        b = bytearray(s.encode())
        for _ in range(r.randint(1, 3)):
            op = r.randrange(5)
            if not b:
                b = bytearray(b"{")
            i = r.randrange(len(b))
            if op == 0:
                b[i] = r.choice(b'{}[]:,"\\ 0123456789aeflnrstu-+.eE')
            elif op == 1:
                del b[i:i + r.randint(1, 20)]
            elif op == 2:
                b[i:i] = b[i:i + r.randint(1, 50)] * r.randint(1, 20)
            elif op == 3:
                b = b[:i]
            else:
                b[i:i] = r.choice([b'\\u0000', b'\\ud800', b'"', b'\\', b'\x00'.replace(b'\x00', b''), b'1e999999'])
        return b.decode("utf-8", "replace").replace("\x00", "")


def deepen(text):
    """Spells out the deep nesting mutate_once() marks: n arrays deep (a
    marker that a later mutation changed stays a plain string)."""
    return re.sub(r'"__deep_(\d+)__"', lambda m: "[" * int(m.group(1)) + "1" + "]" * int(m.group(1)), text)


class Runner:
    def __init__(self, dsn):
        self.dsn = dsn
        self.tally = {"inputs": 0, "accepted": 0, "clean_errors": 0, "internal_errors": 0, "crashes": 0}
        self.failures = []
        self.connect()

    def connect(self):
        self.conn = psycopg2.connect(self.dsn)
        self.conn.autocommit = False
        self.cur = self.conn.cursor()
        self.cur.execute("SET client_min_messages = error; SET statement_timeout = '20s'")
        self.cur.execute("SAVEPOINT base")

    def call(self, what, sql, params=(), count=True):
        if count:
            self.tally["inputs"] += 1
        try:
            self.cur.execute("SAVEPOINT s")
            self.cur.execute(sql, params)
            if self.cur.description:
                self.cur.fetchall()
            self.cur.execute("RELEASE SAVEPOINT s")
            if count:
                self.tally["accepted"] += 1
            return True
        except psycopg2.Error as e:
            if self.conn.closed or isinstance(e, (psycopg2.OperationalError, psycopg2.InterfaceError)) \
                    and e.pgcode is None:
                self.tally["crashes"] += 1
                self.failures.append((what, "connection lost", str(e)[:300], params))
                time.sleep(2)
                self.connect()
                return False
            self.cur.execute("ROLLBACK TO SAVEPOINT s")
            if e.pgcode and e.pgcode.startswith("XX"):
                self.tally["internal_errors"] += 1
                self.failures.append((what, e.pgcode, (e.pgerror or "")[:300], params))
            elif count:
                self.tally["clean_errors"] += 1
            return False

    def recycle(self, every=500):
        if self.tally["inputs"] % every == 0:
            self.conn.rollback()
            self.cur.execute("SET client_min_messages = error; SET statement_timeout = '20s'")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dsn", default="")
    ap.add_argument("--log", help="the server log, read for crashes afterwards")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    m = Mutator(rng)

    setup = psycopg2.connect(args.dsn)
    setup.autocommit = True
    with setup.cursor() as c:
        c.execute(SETUP)
        c.execute("SELECT schema_guard.snapshot(ARRAY['fuzz'])")
        manifest = c.fetchone()[0]
    setup.close()

    log_start = 0
    if args.log:
        try:
            with open(args.log, "rb") as f:
                log_start = f.seek(0, 2)
        except OSError:
            pass
    run = Runner(args.dsn)
    started = time.time()
    json_targets = [
        ("expect", lambda d: ("SELECT schema_guard.expect(%s, 'fuzz')", (d,)), manifest,
         ["SELECT count(*) FROM schema_guard.check()", "SELECT schema_guard.fix_script(NULL, false, true)",
          "SELECT schema_guard.schema_check(NULL, true)", "SELECT schema_guard.check_json()"]),
        ("declare_migrations", lambda d: ("SELECT schema_guard.declare_migrations(%s)", (d,)), GRAPH,
         ["SELECT count(*) FROM schema_guard.migration_check()", "SELECT count(*) FROM schema_guard.migration_plan()",
          "SELECT pg_catalog.migration_check()", "SELECT count(*) FROM schema_guard.migration_reconcile()"]),
        ("stage_open options", lambda d: ("SELECT schema_guard.stage_open('fuzz.licence', ARRAY['external_id'], 'fuzz', %s)", (d,)),
         OPTIONS, []),
        ("stage_rows", lambda d: ("SELECT schema_guard.stage_rows(schema_guard.stage_open('fuzz.licence', "
                                  "ARRAY['external_id'], 'fuzz', '{\"conflict\": \"newer_wins\", "
                                  "\"version_column\": \"updated_at\"}'), %s)", (d,)), ROWS,
         ["SELECT count(*) FROM schema_guard.stage_validate(schema_guard.current_batch())",
          "SELECT * FROM schema_guard.stage_apply(schema_guard.current_batch(), true)",
          "SELECT * FROM schema_guard.stage_apply(schema_guard.current_batch())"]),
    ]
    text_targets = [
        ("watch_history_table", "SELECT schema_guard.watch_history_table(%s, %s)", 2),
        ("ignore", "SELECT schema_guard.ignore(%s, %s)", 2),
        ("baseline", "SELECT schema_guard.baseline(%s)", 1),
        ("check app", "SELECT count(*) FROM schema_guard.check(%s)", 1),
        ("schema_check app", "SELECT pg_catalog.schema_check(%s)", 1),
        ("fix_script app", "SELECT schema_guard.fix_script(%s)", 1),
        ("migration_check framework", "SELECT count(*) FROM schema_guard.migration_check(%s)", 1),
        ("migration_plan app", "SELECT count(*) FROM schema_guard.migration_plan(%s)", 1),
        ("snapshot schemas", "SELECT schema_guard.snapshot(ARRAY[%s, %s])", 2),
        ("migration label", "SELECT set_config('schema_guard.migration', %s, true)", 1),
        ("stage_open key", "SELECT schema_guard.stage_open('fuzz.licence', ARRAY[%s], %s)", 2),
        ("stage_open target", "SELECT schema_guard.stage_open(%s::regclass, ARRAY['external_id'])", 1),
    ]
    # Migration SQL for lint(), mutated byte by byte.
    sql_seeds = [
        "CREATE INDEX core_company_name_idx ON fuzz.core_company (name);",
        "ALTER TABLE fuzz.core_company ADD COLUMN note text NOT NULL DEFAULT 'x'; -- schema_guard:ignore adding-field-with-default",
        "BEGIN; ALTER TABLE fuzz.licence ALTER COLUMN amount TYPE numeric(12, 2); SET LOCAL lock_timeout = '1s'; COMMIT;",
        "CREATE TABLE t (id serial PRIMARY KEY); ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0) NOT VALID;",
        "DROP INDEX CONCURRENTLY fuzz.core_invoice_company_id_idx; ALTER TABLE fuzz.licence RENAME TO lic;",
        "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END; ALTER TABLE fuzz.core_invoice DROP COLUMN total;",
    ]
    # Entry points added later that take text are fuzzed too.
    run.cur.execute("""SELECT p.oid::regprocedure::text FROM pg_proc p
                       JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
                       JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'schema_guard'
                       WHERE p.pronargs = 1 AND p.proargtypes[0] = 'text'::regtype AND p.prorettype <> 'trigger'::regtype""")
    rows = run.cur.fetchall()
    run.cur.execute("""SELECT p.oid::regprocedure::text FROM pg_proc p
                       JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
                       JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'schema_guard'""")
    signatures = [r[0] for r in run.cur.fetchall()]
    known = {"schema_guard.watch_history_table", "schema_guard.baseline", "schema_guard.check",
             "schema_check", "schema_guard.fix_script", "schema_guard.migration_check", "migration_check",
             "schema_guard.migration_plan", "schema_guard.check_json"}
    for (sig,) in rows:
        name = sig.split("(")[0]
        if name not in known:
            text_targets.append((name, f"SELECT {name}(%s)", 1))
    run.conn.rollback()
    run.cur.execute("SET client_min_messages = error; SET statement_timeout = '20s'")

    has_lint = any(sig.startswith("schema_guard.lint(") for sig in signatures)
    while run.tally["inputs"] < args.inputs:
        if has_lint and rng.random() < 0.1:
            text = m.text(" ".join(rng.sample(sql_seeds, rng.randint(1, 3))))
            run.call("lint", "SELECT count(*) FROM schema_guard.lint(%s, %s)", (text, rng.random() < 0.5))
        elif rng.random() < 0.7:
            what, build, seed, followups = rng.choice(json_targets)
            doc = m.mutate(seed)
            text = deepen(json.dumps(doc)) if rng.random() < 0.7 else m.text(json.dumps(seed))
            if len(text) > MAX_INPUT_BYTES:
                text = text[:MAX_INPUT_BYTES]
            sql, params = build(text)
            if run.call(what, sql, params) and followups:
                for f in followups:
                    run.call(what + " then " + f.split("(")[0].split()[-1], f, count=False)
        else:
            what, sql, n = rng.choice(text_targets)
            vals = [m.text(rng.choice(HOSTILE_NAMES + ["core", "django", "fuzz", "core_company"]))
                    if rng.random() < 0.5 else rng.choice(HOSTILE_NAMES + [None]) for _ in range(n)]
            run.call(what, sql, tuple(vals))
        run.recycle()

    run.conn.rollback()
    elapsed = time.time() - started
    crashed_in_log = 0
    if args.log:
        try:
            with open(args.log, errors="replace") as f:
                f.seek(log_start)
                crashed_in_log = sum(1 for line in f if "terminated by signal" in line or "PANIC" in line)
        except OSError:
            pass
    t = run.tally
    print(f"inputs {t['inputs']}, accepted {t['accepted']}, clean errors {t['clean_errors']}, "
          f"internal errors {t['internal_errors']}, crashes {t['crashes']}, "
          f"crashes in the server log {crashed_in_log}, seed {args.seed}, {elapsed:.1f} s")
    for what, code, msg, params in run.failures[:20]:
        print(f"FAILURE {what}: {code} {msg!r} params={str(params)[:300]!r}")
    return 1 if run.failures or crashed_in_log else 0


if __name__ == "__main__":
    sys.exit(main())
