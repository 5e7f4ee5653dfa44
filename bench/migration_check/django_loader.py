#!/usr/bin/env python3
"""Times Django's own migration loader on the generated project.

  django_loader.py PROJECT_DIR inproc RUNS PLAN_FILE [OUR_PLAN_FILE]
      One process, RUNS times: a fresh MigrationLoader(connection) (reads
      every migration file and django_migrations, builds the graph with the
      squashes resolved) plus loader.check_consistent_history(connection).
      The first run imports (and, without __pycache__, compiles) the
      migration modules; later runs find them in sys.modules. Then, RUNS
      times, MigrationExecutor(connection).migration_plan(leaf nodes): what
      `manage.py migrate --plan` computes (its own loader included); the plan
      goes to PLAN_FILE as "app<TAB>name" lines. With OUR_PLAN_FILE
      (schema_guard.migration_plan(), same format), also whether that order
      is valid for Django's graph. Prints one JSON object.
  django_loader.py PROJECT_DIR once
      One run of loader + check_consistent_history in this process (a new
      process each time: what `manage.py migrate` pays on every start),
      printed in ms.

The database comes from the environment (PGHOST = the socket directory,
PGPORT, PGUSER, BENCH_DB). django.setup() and the connection are made before
the clock starts.
"""
import json
import os
import statistics
import sys
import time


def setup(project):
    sys.path.insert(0, project)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchproject.settings"
    import django
    django.setup()
    from django.db import connection
    connection.ensure_connection()
    import django.db.migrations.loader  # noqa: F401  (not part of the timing)
    import django.db.migrations.executor  # noqa: F401
    return connection


def load_and_check(connection):
    from django.db.migrations.loader import MigrationLoader  # imported by setup()
    t0 = time.perf_counter()
    loader = MigrationLoader(connection)
    loader.check_consistent_history(connection)
    return (time.perf_counter() - t0) * 1000, loader


def main():
    project, mode = sys.argv[1], sys.argv[2]
    connection = setup(project)
    if mode == "once":
        ms, _ = load_and_check(connection)
        print(f"{ms:.3f}")
        return
    runs, plan_file = int(sys.argv[3]), sys.argv[4]
    from django.db.migrations.executor import MigrationExecutor
    times = []
    loader = None
    for _ in range(runs):
        ms, loader = load_and_check(connection)
        times.append(ms)
    graph = loader.graph
    applied = set(loader.applied_migrations)
    pending = sorted(n for n in graph.nodes if n not in applied)
    plan_times = []
    plan = None
    for _ in range(runs):
        t0 = time.perf_counter()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        plan_times.append((time.perf_counter() - t0) * 1000)
    with open(plan_file, "w") as f:
        for migration, backwards in plan:
            f.write(f"{migration.app_label}\t{migration.name}\n")
    valid = None
    if len(sys.argv) > 5:
        # Each step of schema_guard's plan after every pending migration
        # it depends on in Django's graph (squashes resolved by Django).
        ours = [tuple(l.rstrip("\n").split("\t")) for l in open(sys.argv[5]) if l.strip()]
        position = {key: i for i, key in enumerate(ours)}
        valid = "yes"
        for i, key in enumerate(ours):
            if key not in graph.node_map:
                valid = f"NO: {key} is not in Django's graph"
                break
            late = [p.key for p in graph.node_map[key].parents
                    if p.key not in applied and position.get(p.key, len(ours)) > i]
            if late:
                valid = f"NO: {key} comes before {late[0]}"
                break
    out = {
        "plan_order_valid": valid,
        "django": __import__("django").get_version(),
        "files": len(loader.disk_migrations),
        "graph_nodes": len(graph.nodes),
        "replacements": len(loader.replacements),
        "applied_rows": len(loader.applied_migrations),
        "pending": len(pending),
        "conflicts": loader.detect_conflicts(),
        "load_check_ms": times,
        "load_check_first_ms": times[0],
        "load_check_median_later_ms": statistics.median(times[1:]) if runs > 1 else None,
        "plan_ms": plan_times,
        "plan_median_ms": statistics.median(plan_times),
        "plan_steps": len(plan),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
