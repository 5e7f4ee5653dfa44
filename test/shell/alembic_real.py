"""Drives a real Alembic project (see alembic.sh) and compares schema_guard
with Alembic's own answers: ScriptDirectory.get_heads(),
MigrationContext.get_current_heads(), ScriptDirectory._upgrade_revs("heads",
current) (what `alembic upgrade heads` runs, in its order) and the errors
Alembic raises. Every revision names the objects it creates after itself,
so the audit row of each can be checked against the revision that ran."""

import json
import os
import re
import subprocess
import sys

import psycopg2
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

root, work, db = sys.argv[1:4]
sys.path.insert(0, os.path.join(root, "contrib", "alembic"))
import schema_guard_alembic  # noqa: E402

host, port = os.environ.get("PGHOST", ""), os.environ.get("PGPORT", "5432")
user = os.environ.get("PGUSER", "postgres")
url = f"postgresql+psycopg2://{user}@/{db}?host={host}&port={port}"
conn = psycopg2.connect(dbname=db, host=host, port=port, user=user)
conn.autocommit = True
tests = []


def ok(cond, name, detail=""):
    tests.append((bool(cond), name, detail))


def q(sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


# --- the project -----------------------------------------------------------
proj = os.path.join(work, "proj")
os.makedirs(proj)
subprocess.run(["alembic", "init", "migrations"], check=True, capture_output=True, cwd=proj)
ini = os.path.join(proj, "alembic.ini")
os.chdir(proj)  # script_location is relative to it, as when alembic runs
text = open(ini).read()
text = re.sub(r"^sqlalchemy.url = .*$", "sqlalchemy.url = " + url.replace("%", "%%"), text, flags=re.M)
open(ini, "w").write(text)
versions = os.path.join(proj, "migrations", "versions")

REVISIONS = {
    "r1": dict(down=None, up="op.create_table('t_r1', sa.Column('id', sa.Integer, primary_key=True))",
               down_sql="op.drop_table('t_r1')"),
    "r2": dict(down="r1", up="op.add_column('t_r1', sa.Column('c_r2', sa.Integer))",
               down_sql="op.drop_column('t_r1', 'c_r2')"),
    "r3a": dict(down="r2", up="op.create_table('t_r3a', sa.Column('id', sa.Integer))",
                down_sql="op.drop_table('t_r3a')"),
    "r3b": dict(down="r2", up="op.create_table('t_r3b', sa.Column('id', sa.Integer))",
                down_sql="op.drop_table('t_r3b')"),
    "r4": dict(down=("r3a", "r3b"), up="op.create_index('ix_r4', 't_r3a', ['id'])",
               down_sql="op.drop_index('ix_r4', 't_r3a')"),
    "d1": dict(down=None, labels=("reports",),
               up="op.create_table('t_d1', sa.Column('id', sa.Integer))",
               down_sql="op.drop_table('t_d1')"),
    "r5": dict(down="r4", depends_on="reports",
               up="op.create_table('t_r5', sa.Column('id', sa.Integer))",
               down_sql="op.drop_table('t_r5')"),
    "r6": dict(down="r5", up="op.create_table('t_r6', sa.Column('id', sa.Integer))",
               down_sql="op.drop_table('t_r6')"),
    "r7": dict(down="r6", up="op.create_table('t_r7', sa.Column('id', sa.Integer))",
               down_sql="op.drop_table('t_r7')"),
}


def add(*names):
    for name in names:
        r = REVISIONS[name]
        with open(os.path.join(versions, f"{name}_step.py"), "w") as f:
            f.write(f'"""{name}"""\nfrom alembic import op\nimport sqlalchemy as sa\n'
                    f"revision = {name!r}\ndown_revision = {r['down']!r}\n"
                    f"branch_labels = {r.get('labels')!r}\ndepends_on = {r.get('depends_on')!r}\n\n"
                    f"def upgrade():\n    {r['up']}\n\ndef downgrade():\n    {r['down_sql']}\n")


def alembic(*args):
    p = subprocess.run(["alembic", "-c", ini, *args], capture_output=True, text=True, cwd=proj)
    return p.returncode, p.stdout + p.stderr


def declare():
    graph, warnings = schema_guard_alembic.export(Config(ini))
    q("SELECT schema_guard.declare_migrations(%s::jsonb)", json.dumps(graph))
    return graph


def oracle():
    """What Alembic says: heads, current heads, and what upgrade heads runs
    (None with the error when Alembic refuses)."""
    script = ScriptDirectory.from_config(Config(ini))
    heads = list(script.get_heads())
    engine = create_engine(url)
    with engine.connect() as c:
        current = MigrationContext.configure(c).get_current_heads()
    try:
        steps = [s.revision.revision for s in script._upgrade_revs("heads", current)]
        applied = {r.revision for r in script.revision_map._get_ancestor_nodes(
            script.revision_map.get_revisions(current))}
        error = None
    except Exception as exc:
        steps, applied, error = None, None, str(exc)
    engine.dispose()
    return heads, current, steps, applied, error


mark = [0]


def audit_rows():
    rows = q("SELECT object_identity, command_tag, coalesce(migration, '(drift)') FROM "
             "schema_guard.ddl_event WHERE event_id > %s AND schema_name = 'public' "
             "AND object_identity NOT LIKE '%%alembic_version%%' ORDER BY event_id", mark[0])
    mark[0] = q("SELECT coalesce(max(event_id), 0) FROM schema_guard.ddl_event")[0][0]
    return rows


def expected_label(identity, tag, ran):
    """The revision whose name the object carries last ('t_r3a', 'ix_r4',
    't_r1_pkey', 't_r1.c_r2'); a DROP reverts it. The row of a table an
    ALTER TABLE changes names one of the revisions that ran."""
    found = re.findall(r"(?:^|[._ ])(r\d+[ab]?|d\d+)(?=$|[._ ])", identity)
    if tag == "ALTER TABLE" and identity.count(".") == 1:
        return [f"alembic:{r}" if d == "up" else f"alembic:{r} (reverted)" for r, d in ran.items()]
    if not found or found[-1] not in ran:
        return ["(drift)"]
    rev = found[-1]
    reverting = tag.startswith("DROP") or ran[rev] == "down"
    return [f"alembic:{rev} (reverted)" if reverting else f"alembic:{rev}"]


def compare(stage, ran=None, expect_kinds=None):
    """schema_guard against Alembic after one stage; `ran`: the revisions
    the stage's command ran and its direction ('up' / 'down')."""
    heads, current, steps, applied, error = oracle()
    kinds = sorted({r[0] for r in q(
        "SELECT kind FROM schema_guard.migration_check('alembic') WHERE severity <> 'info'")})
    plan = [r[0] for r in q("SELECT name FROM schema_guard.migration_plan() "
                            "WHERE framework = 'alembic' ORDER BY step")]
    report = q("SELECT migration_check('alembic')")[0][0]
    if error is None:
        ok(plan == steps, f"{stage}: the plan is what alembic upgrade heads runs, in its order",
           f"schema_guard {plan}, alembic {steps}")
        m = re.search(r"^  alembic\s+(\d+)\s+(\d+)\s+\d+$", report, re.M)
        counts = (int(m.group(1)), int(m.group(2))) if m else None
        ok(counts == (len(applied), len(steps)),
           f"{stage}: applied and pending counts are Alembic's", f"{counts} vs {len(applied)}, {len(steps)}")
    else:
        ok(not plan and "nothing can be planned" in report and "pending_migration" not in kinds,
           f"{stage}: Alembic refuses ({error.splitlines()[0]}), and nothing is planned", report)
    ok(("alembic_multiple_heads" in kinds) == (len(heads) > 1),
       f"{stage}: multiple heads reported exactly when Alembic has {len(heads)} heads", str(kinds))
    if expect_kinds is not None:
        ok(kinds == sorted(expect_kinds), f"{stage}: findings {sorted(expect_kinds)}", str(kinds))
    if ran is not None:
        rows = audit_rows()
        wrong = [(i, t, m, expected_label(i, t, ran)) for i, t, m in rows
                 if m not in expected_label(i, t, ran)]
        ok(rows and not wrong, f"{stage}: every audit row names the revision that made it ({len(rows)} rows)",
           str(wrong or rows))
    return report


os.makedirs(versions, exist_ok=True)
for f in os.listdir(versions):
    os.remove(os.path.join(versions, f))

# Two heads without a merge; a partial upgrade, then the rest.
add("r1", "r2", "r3a", "r3b")
declare()
compare("nothing applied", expect_kinds=["alembic_multiple_heads", "pending_migration"])
rc, out = alembic("upgrade", "r2")
ok(rc == 0, "alembic upgrade r2", out)
compare("partial upgrade", ran={"r1": "up", "r2": "up"},
        expect_kinds=["alembic_multiple_heads", "pending_migration"])
rc, out = alembic("upgrade", "heads")
ok(rc == 0, "alembic upgrade heads", out)
compare("two heads applied", ran={"r3a": "up", "r3b": "up"}, expect_kinds=["alembic_multiple_heads"])

# The merge: its index goes to the merge revision.
add("r4")
declare()
rc, out = alembic("upgrade", "head")
ok(rc == 0, "alembic upgrade head (the merge)", out)
compare("merge", ran={"r4": "up"}, expect_kinds=[])

# depends_on: d1 stays a head, upgrade head refuses, upgrade heads runs both.
add("d1", "r5")
declare()
rc, out = alembic("upgrade", "head")
ok(rc != 0 and "Multiple head revisions" in out, "alembic upgrade head refuses with a depends_on head", out)
compare("depends_on pending", expect_kinds=["alembic_multiple_heads", "pending_migration"])
rc, out = alembic("upgrade", "heads")
ok(rc == 0, "alembic upgrade heads", out)
compare("depends_on applied", ran={"d1": "up", "r5": "up"}, expect_kinds=["alembic_multiple_heads"])

# Downgrade: the DROP reverts r5 (an unmerge of r4 and d1).
rc, out = alembic("downgrade", "r5-1")
ok(rc == 0, "alembic downgrade r5-1", out)
compare("downgrade", ran={"r5": "down"}, expect_kinds=["alembic_multiple_heads", "pending_migration"])
rc, out = alembic("upgrade", "heads")
ok(rc == 0, "alembic upgrade heads again", out)
compare("upgraded again", ran={"r5": "up"}, expect_kinds=["alembic_multiple_heads"])

# A stamp of a revision whose DDL never ran: Alembic counts it as applied.
add("r6")
declare()
rc, out = alembic("stamp", "r6")
ok(rc == 0, "alembic stamp r6", out)
compare("stamped", expect_kinds=["alembic_multiple_heads", "faked_migration"])
ok(q("SELECT count(*) FROM schema_guard.migration_check('alembic') WHERE kind = 'faked_migration' "
     "AND object = 'alembic:r6' AND severity = 'error'")[0][0] == 1,
   "the stamped revision is a faked_migration (t_r6 does not exist)")

# A hand-made ALTER is drift.
def psql(sql):  # a session of its own, as a DBA's
    subprocess.run(["psql", "-X", "-q", "-d", db, "-c", sql], check=True, capture_output=True)


psql("ALTER TABLE t_r1 ADD COLUMN hand_made int")
rows = audit_rows()
ok(rows and all(m == "(drift)" for _, _, m in rows), "a hand-made ALTER is drift", str(rows))

# A version row alembic cannot locate: said once, and its fix works.
rc, out = alembic("stamp", "r5")
psql("UPDATE alembic_version SET version_num = 'e2d3deadbeef' WHERE version_num = 'r5'")
rc, out = alembic("current")
ok(rc != 0 and "Can't locate revision identified by 'e2d3deadbeef'" in out,
   "alembic current cannot locate the ghost", out)
report = compare("ghost", expect_kinds=["alembic_multiple_heads", "ghost_migration"])
fix = (q("SELECT fix FROM schema_guard.migration_check('alembic') WHERE kind = 'ghost_migration'")
       or [[None]])[0][0]
ok(fix == "alembic stamp --purge r5", "the ghost's fix stamps the revision the schema is at", fix)
# The steps that touch the database (alembic merge heads writes a file).
steps = [l.strip() for l in report.split("next steps, in this order:")[-1].splitlines()
         if l.startswith("  alembic stamp ")]
ok(steps == ["alembic stamp --purge r5"], "the report prints the stamp", report)
for step in steps:
    rc, out = alembic(*step.split()[1:])
    ok(rc == 0, f"the printed step runs: {step}", out)
ok(oracle()[1] == ("r5",) or list(oracle()[1]) == ["r5"], "after the steps alembic is at r5", str(oracle()[1]))
compare("after the ghost's fix", expect_kinds=["alembic_multiple_heads", "pending_migration"])

# A revision newer than the declared graph: stale_graph, whose printed step
# (the exporter, then the declaration) runs as printed.
rc, out = alembic("upgrade", "r6")
add("r7")
rc, out = alembic("upgrade", "r7")
ok(rc == 0, "alembic upgrade r7 (not declared yet)", out)
kinds = [r[0] for r in q("SELECT kind FROM schema_guard.migration_check('alembic') WHERE severity <> 'info'")]
ok("stale_graph" in kinds and "ghost_migration" not in kinds, "a newer revision that made DDL is a stale graph", kinds)
fix = q("SELECT fix FROM schema_guard.migration_check('alembic') WHERE kind = 'stale_graph'")[0][0]
env = dict(os.environ, PYTHONPATH=os.path.join(root, "contrib", "alembic"), PGDATABASE=db,
           PATH="/usr/bin:" + os.environ.get("PATH", ""))  # the python3 that has alembic
p = subprocess.run(["bash", "-c", fix], cwd=proj, env=env, capture_output=True, text=True)
ok(p.returncode == 0, f"the printed step runs: {fix}", p.stdout + p.stderr)
compare("redeclared", expect_kinds=["alembic_multiple_heads"])

print(f"1..{len(tests)}")
for i, (passed, name, detail) in enumerate(tests, 1):
    print(f"{'ok' if passed else 'not ok'} {i} - {name}")
    if not passed and detail:
        for line in str(detail).splitlines()[:15]:
            print(f"#   {line}")
