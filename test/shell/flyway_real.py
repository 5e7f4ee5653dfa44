"""Flyway's history as Flyway writes it, checked with the exporter's graph
(see flyway.sh)."""

import json
import os
import sys
import zlib

import psycopg2

root, work, db = sys.argv[1:4]
sys.path.insert(0, os.path.join(root, "contrib", "flyway"))
import schema_guard_flyway as exporter  # noqa: E402

conn = psycopg2.connect(dbname=db, host=os.environ.get("PGHOST"), port=os.environ.get("PGPORT"),
                        user=os.environ.get("PGUSER", "postgres"))
conn.autocommit = True
tests = []


def ok(cond, name, detail=""):
    tests.append((bool(cond), name, detail))


def q(sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


# Flyway's checksum is over lines: line endings and a byte-order mark do
# not change it, the text does; a signed 32-bit value.
c = exporter.flyway_checksum
ok(c(b"") == 0, "checksum of an empty script is 0")
ok(c(b"a") == zlib.crc32(b"a") - (1 << 32), "checksum is the signed CRC-32 of the line", c(b"a"))
ok(c(b"a\nb\n") == c(b"a\r\nb\r\n") == c(b"a\rb") == c("\ufeffa\nb".encode()),
   "checksum ignores line breaks and a byte-order mark")
ok(c(b"a\nb\n") != c(b"a\nc\n") and c(b"a\nb\n") == c(b"a\n\nb\n"),
   "checksum sees the text, not empty lines (Flyway adds nothing for them)")

mig = os.path.join(work, "db", "migration")
os.makedirs(mig)
SCRIPTS = {
    "V1__init.sql": "CREATE TABLE account (id int PRIMARY KEY);\n",
    "V1_1__add_name.sql": "ALTER TABLE account ADD COLUMN name text;\n",
    "V2__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, account_id int REFERENCES account);\n",
    "R__account_view.sql": "CREATE OR REPLACE VIEW account_v AS SELECT id FROM account;\n",
    "U2__orders.sql": "DROP TABLE orders;\n",
    "README.txt": "not a migration\n",
}
for name, text in SCRIPTS.items():
    with open(os.path.join(mig, name), "w") as f:
        f.write(text)


def declare():
    graph, skipped = exporter.export([mig], root=work)
    q("SELECT schema_guard.declare_migrations(%s::jsonb)", json.dumps(graph))
    return graph, skipped


graph, skipped = declare()
ok([m["name"] for m in graph["migrations"]] == ["1", "1.1", "2"],
   "versioned scripts are the migrations, 1_1 is 1.1", graph)
ok(sorted(os.path.basename(p) for p in skipped) == ["R__account_view.sql", "U2__orders.sql"],
   "repeatable and undo scripts are set aside", skipped)
ok(graph["migrations"][1]["file"] == "db/migration/V1_1__add_name.sql"
   and graph["migrations"][1]["description"] == "add name", "file and description by Flyway's rules")

q("""CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INT,
    "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
  ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
  CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");""")
rank = [0]


def flyway_apply(script):
    """One migration as Flyway runs it: the script, then its row, one transaction."""
    path = os.path.join(mig, script)
    m = exporter._VERSIONED.match(script)
    version = m.group("version").replace("_", ".") if m else None
    desc = (m.group("desc") if m else script[3:-4]).replace("_", " ")
    rank[0] += 1
    with open(path, "rb") as f:
        data = f.read()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute(data.decode())
        cur.execute("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, "
                    "checksum, installed_by, execution_time, success) VALUES (%s, %s, %s, 'SQL', %s, %s, "
                    "'postgres', 3, true)", (rank[0], version, desc, script, exporter.flyway_checksum(data)))
        cur.execute("COMMIT")


def findings():
    return sorted(f"{k} {o}" for k, o in q(
        "SELECT kind, object FROM schema_guard.migration_check('flyway') WHERE severity <> 'info'"))


flyway_apply("V1__init.sql")
flyway_apply("V1_1__add_name.sql")
ok(findings() == ["pending_migration flyway:2"], "V2 pending", findings())
ok([r[0] for r in q("SELECT name FROM schema_guard.migration_plan() WHERE framework = 'flyway'")] == ["2"],
   "the plan is V2")
labels = q("SELECT object_identity, migration FROM schema_guard.ddl_event WHERE object_identity "
           "IN ('public.account', 'public.account.name') ORDER BY event_id")
ok(labels == [("public.account", "flyway:1"), ("public.account", "flyway:1.1"),
              ("public.account.name", "flyway:1.1")], "each script's DDL is its version's", labels)
flyway_apply("V2__orders.sql")
flyway_apply("R__account_view.sql")
ok(findings() == [], "everything applied, the repeatable's row included: nothing to report", findings())

# Line endings and a byte-order mark: Flyway's checksum does not change.
with open(os.path.join(mig, "V1__init.sql"), "wb") as f:
    f.write("\ufeffCREATE TABLE account (id int PRIMARY KEY);\r\n".encode())
declare()
ok(findings() == [], "a script saved with CRLF and a BOM is unchanged for Flyway", findings())

# A changed applied script: flyway validate fails; so does the check.
with open(os.path.join(mig, "V1_1__add_name.sql"), "a") as f:
    f.write("-- and a comment\n")
declare()
ok(findings() == ["checksum_mismatch flyway:1.1"], "a changed applied script is a checksum_mismatch", findings())
fix = q("SELECT fix FROM schema_guard.migration_check('flyway') WHERE kind = 'checksum_mismatch'")
ok(fix == [("flyway repair",)], "its fix is flyway repair", fix)

# Two scripts with one version: named by their files.
with open(os.path.join(mig, "V2_0__orders_again.sql"), "w") as f:
    f.write("SELECT 1;\n")
declare()
msg = q("SELECT message FROM schema_guard.migration_check('flyway') WHERE kind = 'duplicate_version'")
ok(msg and "db/migration/V2__orders.sql" in msg[0][0] and "db/migration/V2_0__orders_again.sql" in msg[0][0],
   "a version declared twice names both files (2.0 is 2)", msg)

os.remove(os.path.join(mig, "V2_0__orders_again.sql"))
with open(os.path.join(mig, "V1_1__add_name.sql"), "w") as f:
    f.write(SCRIPTS["V1_1__add_name.sql"])

# A script older than the latest applied version: Flyway (outOfOrder off)
# ignores it and validate fails.
with open(os.path.join(mig, "V1_5__late.sql"), "w") as f:
    f.write("CREATE TABLE late (id int);\n")
declare()
late = q("SELECT severity, fix FROM schema_guard.migration_check('flyway') WHERE object = 'flyway:1.5'")
ok(findings() == ["pending_migration flyway:1.5"] and late == [("error", "flyway migrate -outOfOrder=true")],
   "an older script pending is an error, fixed by migrate -outOfOrder=true", (findings(), late))
flyway_apply("V1_5__late.sql")  # as Flyway applies it out of order
ok(findings() == [], "applied out of order: nothing to report", findings())

# An applied script whose file is gone (below the latest declared version,
# so not a newer graph): validate fails until flyway repair marks it
# deleted (a DELETE row).
os.remove(os.path.join(mig, "V1_1__add_name.sql"))
declare()
ghost = q("SELECT severity, fix FROM schema_guard.migration_check('flyway') WHERE kind = 'ghost_migration'")
ok(findings() == ["ghost_migration flyway:1.1"] and ghost == [("error", "flyway repair")],
   "an applied script that is gone is a ghost, fixed by flyway repair", (findings(), ghost))
rank[0] += 1
q("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, "
  "installed_by, execution_time, success) VALUES (%s, '1.1', 'add name', 'DELETE', 'V1_1__add_name.sql', NULL, "
  "'postgres', 0, true)", rank[0])
ok(findings() == [], "after flyway repair's DELETE row the version is gone for Flyway and the check", findings())

print(f"1..{len(tests)}")
for i, (passed, name, detail) in enumerate(tests, 1):
    print(f"{'ok' if passed else 'not ok'} {i} - {name}")
    if not passed and detail != "":
        for line in str(detail).splitlines()[:15]:
            print(f"#   {line}")
