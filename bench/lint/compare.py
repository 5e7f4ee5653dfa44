#!/usr/bin/env python3
"""squawk and schema_guard.lint() on the same corpus, in the same run.

    compare.py --squawk BIN --db DB --corpus FILE [--big-statements N] [--runs N]

1. Agreement: both lint the corpus; each finding is placed on its statement
   (by line), and for every rule the statements both flag, only squawk
   flags and only schema_guard flags are counted. squawk's
   adding-not-nullable-field is the rule schema_guard calls
   setting-not-nullable-field (squawk 2.x renamed its rules).
2. Time: a file of N statements (the corpus repeated) is linted by squawk
   (--reporter json, the fast reporter) and by lint() through psql (a new
   connection each run, every row sent to the client); wall time of each
   process, median of the runs, and lint()'s own execution time (psql's
   \\timing).
Standard library only; psql from PATH (PGHOST/PGPORT name the server).
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

SQUAWK_TO_OURS = {"adding-not-nullable-field": "setting-not-nullable-field"}


def statements(text):
    """(first line, last line) of each statement: every statement ends a line
    with ';' (the corpus is written that way); comment lines before it
    belong to it."""
    spans, start = [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if start is None and stripped and not stripped.startswith("--"):
            start = number
        if start is not None and re.search(r";\s*(--.*)?$", stripped):
            spans.append((start, number))
            start = None
    return spans


def statement_of(spans, line):
    lo, hi = 0, len(spans) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        first, last = spans[mid]
        if line < first:
            hi = mid - 1
        elif line > last:
            lo = mid + 1
        else:
            return mid
    return None


def run_squawk(squawk, path):
    started = time.perf_counter()
    done = subprocess.run([squawk, "--reporter", "json", path], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(done.stdout or "[]")


def run_lint(db, path, timing_only=False):
    """Runs lint() on the file in a new psql session; returns wall seconds,
    the server-side milliseconds, and the rows (statement_no, line, rule,
    severity) unless timing_only."""
    script = "\\set sql `cat %s`\n\\timing on\n" % path
    script += "SELECT statement_no, line, rule, severity, object, message, hint, lock, " \
              "table_rows, table_bytes FROM schema_guard.lint(:'sql');\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        name = f.name
    started = time.perf_counter()
    done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                           "-d", db, "-f", name], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    os.unlink(name)
    server_ms = float(re.findall(r"^Time: ([0-9.]+) ms", done.stdout, re.M)[-1])
    rows = []
    if not timing_only:
        for line in done.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 10:
                rows.append((int(parts[0]), int(parts[1]), parts[2], parts[3]))
    else:
        rows = sum(1 for line in done.stdout.splitlines() if line.count("\t") == 9)
    return elapsed, server_ms, rows


def agreement(args):
    text = open(args.corpus).read()
    spans = statements(text)
    _, squawk_findings = run_squawk(args.squawk, args.corpus)
    _, _, ours = run_lint(args.db, args.corpus)
    theirs = collections.defaultdict(set)
    for f in squawk_findings:
        st = statement_of(spans, f["line"] + 1)
        if st is not None:
            theirs[SQUAWK_TO_OURS.get(f["rule_name"], f["rule_name"])].add(st)
    mine = collections.defaultdict(set)
    severities = collections.Counter()
    for _, line, rule, severity in ours:
        st = statement_of(spans, line)
        if st is not None:
            mine[rule].add(st)
        severities[severity] += 1
    print("== agreement on %s: %d statements ==" % (os.path.basename(args.corpus), len(spans)))
    print("squawk: %d findings; schema_guard.lint(): %d findings (%s)" % (
        len(squawk_findings), len(ours),
        ", ".join("%d %s" % (severities[s], s) for s in ("error", "warning", "info"))))
    print()
    print("%-46s %6s %12s %9s" % ("rule (statements flagged)", "both", "only squawk", "only us"))
    print("-" * 76)
    for rule in sorted(set(theirs) | set(mine)):
        both = len(theirs[rule] & mine[rule])
        print("%-46s %6d %12d %9d" % (rule, both, len(theirs[rule] - mine[rule]),
                                      len(mine[rule] - theirs[rule])))
    if args.details:
        for rule in sorted(set(theirs) | set(mine)):
            for label, only in (("only squawk", theirs[rule] - mine[rule]),
                                ("only us", mine[rule] - theirs[rule])):
                for st in sorted(only):
                    first, last = spans[st]
                    body = " ".join(l.strip() for l in text.splitlines()[first - 1:last]
                                    if not l.strip().startswith("--"))
                    print("%s %s: %s" % (rule, label, body[:150]), file=sys.stderr)
    return spans


def big_file(corpus, count, path):
    lines = open(corpus).read().splitlines()
    spans = statements("\n".join(lines))
    out, n = [], 0
    while n < count:
        for first, last in spans:
            out.extend(lines[first - 1:last])
            n += 1
            if n == count:
                break
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def timing(args):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.sql")
        big_file(args.corpus, args.big_statements, path)
        size = os.path.getsize(path)
        squawk_walls, lint_walls, lint_server = [], [], []
        squawk_count = lint_count = 0
        run_lint(args.db, path, timing_only=True)  # warm the catalog caches once
        for _ in range(args.runs):
            wall, findings = run_squawk(args.squawk, path)
            squawk_walls.append(wall)
            squawk_count = len(findings)
            wall, server_ms, count = run_lint(args.db, path, timing_only=True)
            lint_walls.append(wall)
            lint_server.append(server_ms / 1000)
            lint_count = count
    sq = statistics.median(squawk_walls)
    lw = statistics.median(lint_walls)
    ls = statistics.median(lint_server)
    print()
    print("== time: %d statements (%.1f MB), median of %d runs ==" % (
        args.big_statements, size / 1e6, args.runs))
    print("%-44s %9s %10s" % ("", "wall (s)", "findings"))
    print("%-44s %9.3f %10d   (runs: %s)" % ("squawk --reporter json", sq, squawk_count,
                                             ", ".join("%.3f" % w for w in squawk_walls)))
    print("%-44s %9.3f %10d   (runs: %s)" % ("psql + schema_guard.lint() (all rows)", lw, lint_count,
                                             ", ".join("%.3f" % w for w in lint_walls)))
    print("%-44s %9.3f" % ("  of which lint() itself (\\timing)", ls))
    print("ratio lint()/squawk: %.2f (psql wall), %.2f (lint() alone); target <= 0.5" % (
        lw / sq, ls / sq))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--squawk", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--big-statements", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--details", action="store_true",
                        help="print each disagreeing statement to stderr")
    args = parser.parse_args()
    agreement(args)
    timing(args)


if __name__ == "__main__":
    main()
