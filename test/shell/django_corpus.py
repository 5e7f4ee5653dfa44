"""schema_guard's Django check against Django's own loader and executor.

For every graph of test/fixtures/django_graphs.json and every recorded state
of it: writes the graph as a real migrations package, records the rows in
django_migrations, declares the graph, and compares, one TAP line each:
  loads       MigrationLoader raises NodeNotFoundError or
              CircularDependencyError <=> schema_guard says the graph cannot
              be loaded (and plans nothing)
  history     check_consistent_history raises <=> an inconsistent_history
              error, naming the pair Django names
  conflicts   detect_conflicts() == the conflicting_leaves findings
  plan        MigrationExecutor.migration_plan(leaf_nodes()) ==
              schema_guard.migration_plan(), in order
  app plans   the same for each app's leaves == migration_plan(app)
  pending     the pending_migration findings == the migrations of the plan
Usage: django_corpus.py FIXTURES WORKDIR DBNAME (PGHOST, PGPORT, PGUSER set).
"""
import json
import os
import sys

fixtures, work, dbname = sys.argv[1], sys.argv[2], sys.argv[3]
cases = json.load(open(fixtures))["cases"]
labels = sorted({m["app"] for c in cases for m in c["migrations"]} | {"b"})

# A project whose apps are the labels; each case's migrations live in a
# package of their own, chosen per case through MIGRATION_MODULES.
os.makedirs(os.path.join(work, "corpus_apps"), exist_ok=True)
open(os.path.join(work, "corpus_apps", "__init__.py"), "w").close()
for label in labels:
    os.makedirs(os.path.join(work, "corpus_apps", label), exist_ok=True)
    open(os.path.join(work, "corpus_apps", label, "__init__.py"), "w").close()


def write_case(index, case):
    root = os.path.join(work, "case%d" % index)
    os.makedirs(root, exist_ok=True)
    open(os.path.join(root, "__init__.py"), "w").close()
    for label in labels:
        os.makedirs(os.path.join(root, label), exist_ok=True)
        open(os.path.join(root, label, "__init__.py"), "w").close()
    for m in case["migrations"]:
        with open(os.path.join(root, m["app"], m["name"] + ".py"), "w") as f:
            f.write("from django.db import migrations\n\n")
            f.write("class Migration(migrations.Migration):\n")
            f.write("    dependencies = %r\n" % [tuple(d) for d in m.get("dependencies", [])])
            if m.get("replaces"):
                f.write("    replaces = %r\n" % [tuple(r) for r in m["replaces"]])
            if m.get("run_before"):
                f.write("    run_before = %r\n" % [tuple(r) for r in m["run_before"]])
            f.write("    operations = []\n")
    return root


sys.path.insert(0, work)
import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    INSTALLED_APPS=["corpus_apps.%s" % label for label in labels],
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": dbname,
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", ""), "PORT": os.environ.get("PGPORT", "5432")}},
    MIGRATION_MODULES={},
    USE_TZ=True,
)
django.setup()
from django.db import connection  # noqa: E402
from django.db.migrations.exceptions import (  # noqa: E402
    CircularDependencyError, InconsistentMigrationHistory, NodeNotFoundError)
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.db.migrations.recorder import MigrationRecorder  # noqa: E402

MigrationRecorder(connection).ensure_schema()
n = 0
failures = 0


def ok(good, what):
    global n, failures
    n += 1
    if not good:
        failures += 1
    print("%s %d - %s" % ("ok" if good else "not ok", n, what))
    sys.stdout.flush()


def rows(sql, *args):
    with connection.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


for index, case in enumerate(cases):
    write_case(index, case)
    apps_of_case = sorted({m["app"] for m in case["migrations"]})
    settings.MIGRATION_MODULES = {
        label: ("case%d.%s" % (index, label) if label in apps_of_case else None)
        for label in labels}
    graph = {"format": "schema_guard.migrations/1", "framework": "django",
             "migrations": case["migrations"]}
    rows("SELECT schema_guard.declare_migrations(%s::jsonb)", json.dumps(graph))
    for state_index, state in enumerate(case["states"]):
        what = "%s, rows %s" % (case["name"], ",".join("%s.%s" % tuple(r) for r in state) or "none")
        with connection.cursor() as cur:
            cur.execute("DELETE FROM django_migrations")
            for app, name in state:
                cur.execute("INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())",
                            (app, name))
        findings = rows("SELECT severity, kind, app, object, message, expected, actual "
                        "FROM schema_guard.migration_check('django')")
        plan = [tuple(r) for r in rows("SELECT app, name FROM schema_guard.migration_plan() ORDER BY step")]
        cannot_load = any(f[0] == "error" and "Django cannot load the graph" in (f[4] or "")
                          for f in findings)
        try:
            executor = MigrationExecutor(connection)
            loader = executor.loader
            load_error = None
        except (NodeNotFoundError, CircularDependencyError) as e:
            load_error = e
        ok((load_error is not None) == cannot_load,
           "%s: loads (Django: %s)" % (what, type(load_error).__name__ if load_error else "loads"))
        if load_error is not None:
            ok(plan == [], "%s: no plan for a graph Django cannot load" % what)
            continue
        # check_consistent_history
        inconsistent = {(f[3], f[5]) for f in findings if f[1] == "inconsistent_history"}
        try:
            loader.check_consistent_history(connection)
            django_pair = None
        except InconsistentMigrationHistory as e:
            words = str(e).split()
            django_pair = (words[1], words[7])  # "Migration X is applied before its dependency Y on"
        ok((django_pair is None and not inconsistent) or (django_pair in inconsistent),
           "%s: history consistent or not alike (Django: %s, schema_guard: %s)"
           % (what, django_pair, sorted(inconsistent)))
        conflicts = {f[2]: f[6] for f in findings if f[1] == "conflicting_leaves"}
        django_conflicts = {app: ", ".join(names) for app, names in loader.detect_conflicts().items()}
        ok(conflicts == django_conflicts,
           "%s: conflicts alike (Django: %s, schema_guard: %s)" % (what, django_conflicts, conflicts))
        leaves = loader.graph.leaf_nodes()
        django_plan = [(m.app_label, m.name) for m, _ in executor.migration_plan(leaves)]
        ok(plan == django_plan, "%s: plan alike (Django: %s, schema_guard: %s)" % (what, django_plan, plan))
        for app in apps_of_case:
            app_plan = [tuple(r) for r in rows(
                "SELECT app, name FROM schema_guard.migration_plan(%s) ORDER BY step", app)]
            django_app_plan = [(m.app_label, m.name) for m, _ in executor.migration_plan(
                [leaf for leaf in leaves if leaf[0] == app])]
            ok(app_plan == django_app_plan, "%s: plan of %s alike (Django: %s, schema_guard: %s)"
               % (what, app, django_app_plan, app_plan))
        pending = sorted(f[3] for f in findings if f[1] == "pending_migration")
        ok(pending == sorted("%s.%s" % p for p in django_plan),
           "%s: pending migrations are the plan's (%s)" % (what, pending))

print("1..%d" % n)
print("# %d comparisons with Django, %d disagree" % (n, failures))
sys.exit(1 if failures else 0)
