#!/usr/bin/env python3
"""The fix_script() round trip over seeded schema pairs (gen.py).

For each pair (A expected, B live) and each mode (transactional: the
offline script in one transaction; online: the lock-safe script statement
by statement outside a transaction block): load A and take its snapshot,
load B instead, expect A's snapshot, apply fix_script(mode, include_drops)
to B, and require that the script applies without an error, that check()
is then empty, and that a fresh snapshot() equals A's (columns compared as
a set: ADD COLUMN appends, and check() does not compare column order).

Runs against the cluster in PGHOST/PGPORT (psql on PATH); standard library
only. Prints a TAP line per mode, the convergence figure, and for each
failure the seed, the step and the error.

    run.py [--pairs N] [--first SEED] [--jobs J] [--keep DIR] [--verbose]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

RESET = r"""
DO $$
DECLARE
  s text;
BEGIN
  FOR s IN SELECT extname FROM pg_extension
           WHERE extname NOT IN ('plpgsql', 'schema_guard') LOOP
    EXECUTE format('DROP EXTENSION %I CASCADE', s);
  END LOOP;
  FOR s IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\_%' AND nspname NOT IN ('information_schema', 'schema_guard') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  CREATE SCHEMA public;
  ALTER SCHEMA public OWNER TO pg_database_owner;
  GRANT USAGE ON SCHEMA public TO PUBLIC;
  COMMENT ON SCHEMA public IS 'standard public schema';
END
$$;
"""

MODES = ["transactional", "online"]


def psql(db, args, stdin=None):
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db] + args
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def normalized(manifest):
    for t in manifest.get("tables", []):
        t["columns"] = sorted(t["columns"], key=lambda c: c["name"])
    return manifest


def first_difference(a, b, path=""):
    if type(a) != type(b):
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: %r != %r" % (path, k, a.get(k), b.get(k))
            d = first_difference(a[k], b[k], path + "." + k)
            if d:
                return d
    elif isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            name = x.get("name", i) if isinstance(x, dict) else i
            d = first_difference(x, y, "%s[%s]" % (path, name))
            if d:
                return d
        if len(a) != len(b):
            return "%s: %d items != %d" % (path, len(a), len(b))
    elif a != b:
        return "%s: %r != %r" % (path, a, b)
    return None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def load_expected(db, work, seed):
    """Loads A and writes its snapshot; returns (a_sql, b_sql) or an error."""
    a_sql, b_sql = gen.pair(seed)
    files = {n: os.path.join(work, n) for n in ("reset.sql", "a.sql", "b.sql", "a.json")}
    write(files["reset.sql"], RESET)
    write(files["a.sql"], a_sql)
    write(files["b.sql"], b_sql)
    session = """SET client_min_messages = warning;
\\i {reset}
\\i {a}
\\o {aj}
SELECT schema_guard.snapshot();
\\o
""".format(reset=files["reset.sql"], a=files["a.sql"], aj=files["a.json"])
    rc, out, err = psql(db, ["-f", "-"], session)
    return None if rc == 0 else "A does not load: %s" % err.strip()


def run_mode(db, work, mode):
    """B, fixed in this mode. Returns (status, detail): status is
    "converged", "generator" (B does not load) or "failed"."""
    files = {n: os.path.join(work, n) for n in ("reset.sql", "b.sql", "a.json", "fix.sql", "a2.json")}
    if os.path.exists(files["fix.sql"]):
        os.remove(files["fix.sql"])
    online = "true" if mode == "online" else "false"
    session = """SET client_min_messages = warning;
\\i {reset}
\\echo step: B
\\i {b}
\\echo step: expect
SELECT schema_guard.expect(pg_catalog.pg_read_file('{aj}')::jsonb || '{{"names_matter": true}}', 'round trip') AS n \\gset
SELECT 'findings: ' || count(*) FROM schema_guard.check();
\\o {fix}
SELECT schema_guard.fix_script(NULL, {online}, true);
\\o
""".format(reset=files["reset.sql"], b=files["b.sql"], aj=files["a.json"], fix=files["fix.sql"],
           online=online)
    rc, out, err = psql(db, ["-f", "-"], session)
    steps = [l for l in out.splitlines() if l.startswith("step: ")]
    if rc != 0:
        step = steps[-1][6:] if steps else "reset"
        if step == "B":
            return "generator", "B does not load: %s" % err.strip()
        return "failed", "%s: %s" % (step, err.strip())
    found = [int(l.split()[1]) for l in out.splitlines() if l.startswith("findings: ")]
    findings = found[0] if found else 0
    # The script (in one transaction, or statement by statement), then
    # check() and a fresh snapshot, in one session.
    body = "\\i {fix}\n".format(fix=files["fix.sql"])
    if mode == "transactional":
        body = "BEGIN;\n" + body + "COMMIT;\n"
    session = """SET client_min_messages = warning;
{body}\\echo step: check
SELECT 'finding: ' || kind || ' ' || object FROM schema_guard.check();
\\o {a2}
SELECT schema_guard.snapshot();
\\o
""".format(body=body, a2=files["a2.json"])
    rc, out, err = psql(db, ["-f", "-"], session)
    if rc != 0:
        if "step: check" not in out:
            return "failed", "the script does not apply: %s" % err.strip()
        return "failed", "check(): %s" % err.strip()
    left = [l[9:] for l in out.splitlines() if l.startswith("finding: ")]
    if left:
        return "failed", "check() after the fix: %s" % "; ".join(left[:5])
    with open(files["a.json"]) as f:
        expected = normalized(json.load(f))
    with open(files["a2.json"]) as f:
        actual = normalized(json.load(f))
    difference = first_difference(expected, actual)
    if difference:
        return "failed", "the snapshot differs: %s" % difference
    return "converged", "%d findings" % findings


def setup(db):
    """A database of the run's own (one per job, made one after the other:
    CREATE EXTENSION makes roles, which two databases cannot make at once)."""
    subprocess.run(["dropdb", "--if-exists", "--force", db], capture_output=True)
    subprocess.run(["createdb", db], check=True, capture_output=True)
    roles = gen.ROLES + gen.OWNERS
    rc, _, err = psql(db, ["-c", "CREATE EXTENSION schema_guard"] + sum(
        (["-c", "DO $$BEGIN CREATE ROLE %s NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$" % r]
         for r in roles), []))
    if rc != 0:
        raise SystemExit("cannot set up %s: %s" % (db, err.strip()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", default="")
    parser.add_argument("--verbose", action="store_true")
    opts = parser.parse_args()
    seeds = list(range(opts.first, opts.first + opts.pairs))
    results = {mode: {} for mode in MODES}
    lock = threading.Lock()
    work_root = tempfile.mkdtemp(prefix="sg_roundtrip.")
    os.chmod(work_root, 0o755)

    def worker(j):
        db = "sg_roundtrip_%d" % j
        work = os.path.join(work_root, str(j))
        os.makedirs(work)
        os.chmod(work, 0o755)
        for seed in seeds[j::opts.jobs]:
            problem = load_expected(db, work, seed)
            for mode in MODES:
                status, detail = ("generator", problem) if problem else run_mode(db, work, mode)
                with lock:
                    results[mode][seed] = (status, detail)
                    if opts.verbose or status != "converged":
                        print("# seed %d %s: %s %s" % (seed, mode, status, detail[:600]), flush=True)
                if status != "converged" and opts.keep:
                    keep = os.path.join(opts.keep, "%d_%s" % (seed, mode))
                    shutil.copytree(work, keep, dirs_exist_ok=True)
        subprocess.run(["dropdb", "--if-exists", "--force", db], capture_output=True)

    for j in range(opts.jobs):
        setup("sg_roundtrip_%d" % j)
    threads = [threading.Thread(target=worker, args=(j,)) for j in range(opts.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutil.rmtree(work_root, ignore_errors=True)
    print("1..%d" % (2 * len(MODES)))
    n = 0
    for mode in MODES:
        converged = sum(1 for s, _ in results[mode].values() if s == "converged")
        broken = sum(1 for s, _ in results[mode].values() if s == "generator")
        pairs = len(results[mode])
        n += 1
        print("%s %d - %s: %d/%d pairs converged" % ("ok" if converged == pairs else "not ok", n, mode,
                                                       converged, pairs))
        n += 1
        print("%s %d - %s: every generated pair loads (%d do not)" % ("ok" if broken == 0 else "not ok", n,
                                                                       mode, broken))
    total = sum(len(r) for r in results.values())
    good = sum(1 for r in results.values() for s, _ in r.values() if s == "converged")
    counts = [int(d.split()[0]) for r in results.values() for s, d in r.values() if s == "converged" and d]
    if counts:
        print("# findings per pair before the fix: %.1f on average, %d at most, %d pairs with none" % (
            sum(counts) / len(counts), max(counts), sum(1 for c in counts if c == 0)))
    print("# convergence: %d/%d (%s)" % (good, total, ", ".join(
        "%s %d/%d" % (m, sum(1 for s, _ in results[m].values() if s == "converged"), len(results[m]))
        for m in MODES)))
    return 0 if good == total else 1


if __name__ == "__main__":
    sys.exit(main())
