#!/usr/bin/env python3
"""Format the DDL-audit benchmark's results.tsv as one table per mode.

results.tsv columns: phase(cpu|cg) mode config round value rows wall_s
  cpu: value = backend utime+stime over the workload, in clock ticks
  cg:  value = the backend's total Ir (cachegrind summary line)
  rows = audit rows the configuration wrote (pgaudit: AUDIT lines in the log)
"""

import argparse
import statistics
from collections import defaultdict

CONFIGS = ["noaudit", "schema_guard", "pgaudit", "plpgsql"]
LABEL = {
    "noaudit": "no audit",
    "schema_guard": "schema_guard",
    "pgaudit": "pgaudit (log=ddl)",
    "plpgsql": "PL/pgSQL trigger pair",
}
MODES = [("autocommit", "autocommit (one statement per transaction)"),
         ("onetx", "one transaction (BEGIN; ... COMMIT;)")]


def pct(x, ref):
    if ref in (None, 0) or x is None:
        return "-"
    return "%+.1f %%" % (100.0 * (x - ref) / ref)


def pct2(x, ref):
    if ref in (None, 0) or x is None:
        return "-"
    return "%+.2f %%" % (100.0 * (x - ref) / ref)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--cpu-stats", default="")
    ap.add_argument("--cg-stats", default="")
    ap.add_argument("--clk-tck", type=int, default=100)
    ap.add_argument("--skipped", default="")
    a = ap.parse_args()

    cpu = defaultdict(list)        # (mode, cfg) -> [ticks]
    cpu_rows = defaultdict(list)
    cg = {}                        # (mode, cfg) -> Ir
    cg_rows = {}
    empty_ir = None
    with open(a.results) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 7:
                continue
            phase, mode, cfg, _rnd, value, rows, _wall = p[:7]
            if phase == "cpu":
                cpu[(mode, cfg)].append(int(value))
                cpu_rows[(mode, cfg)].append(int(rows))
            elif phase == "cg" and cfg == "empty_session":
                empty_ir = int(value)
            elif phase == "cg":
                cg[(mode, cfg)] = int(value)
                cg_rows[(mode, cfg)] = int(rows)

    have_cpu = bool(cpu)
    have_cg = bool(cg)
    tck = float(a.clk_tck)
    out = []
    w = out.append
    w("")
    w("schema_guard DDL-audit benchmark (PostgreSQL 15)")
    if have_cpu:
        n = max(len(v) for v in cpu.values())
        w("  CPU:  backend utime+stime, full workload (%s), median of %d interleaved round(s)"
          % (a.cpu_stats or "?", n))
    if have_cg:
        w("  Ir:   backend instructions (cachegrind, whole backend process), one-tenth workload (%s), one round"
          % (a.cg_stats or "?"))
    w("  ratio = overhead vs 'no audit' in the same mode; Ir is the figure that decides (target for schema_guard: <= +2 %)")
    if a.skipped:
        w("  NOTE: skipped (not installed): %s" % a.skipped)

    for mode, title in MODES:
        if not any(k[0] == mode for k in list(cpu) + list(cg)):
            continue
        w("")
        w("== %s ==" % title)
        hdr = "%-22s" % "config"
        if have_cpu:
            hdr += " %9s %15s %9s" % ("CPU s", "(min-max)", "vs none")
        if have_cg:
            hdr += " %15s %9s" % ("Ir (1/10)", "vs none")
        hdr += "   %s" % "audit rows written"
        w(hdr)
        w("-" * len(hdr))
        ref_cpu = statistics.median(cpu[(mode, "noaudit")]) if cpu.get((mode, "noaudit")) else None
        ref_cg = cg.get((mode, "noaudit"))
        for cfg in CONFIGS:
            if (mode, cfg) not in cpu and (mode, cfg) not in cg:
                if cfg in a.skipped.split(","):
                    w("%-22s   (not installed - skipped)" % LABEL[cfg])
                continue
            line = "%-22s" % LABEL[cfg]
            if have_cpu:
                v = cpu.get((mode, cfg))
                if v:
                    med = statistics.median(v)
                    rng = "(%.2f-%.2f)" % (min(v) / tck, max(v) / tck)
                    line += " %9.2f %15s %9s" % (med / tck, rng, "-" if cfg == "noaudit" else pct(med, ref_cpu))
                else:
                    line += " %9s %15s %9s" % ("n/a", "", "")
            if have_cg:
                v = cg.get((mode, cfg))
                if v is not None:
                    line += " %15s %9s" % ("{:,}".format(v), "-" if cfg == "noaudit" else pct2(v, ref_cg))
                else:
                    line += " %15s %9s" % ("n/a", "")
            rows = []
            if cfg == "noaudit":
                rows.append("-")
            else:
                unit = " log lines" if cfg == "pgaudit" else ""
                if cpu_rows.get((mode, cfg)):
                    rows.append("%d%s (full)" % (cpu_rows[(mode, cfg)][-1], unit))
                if (mode, cfg) in cg_rows:
                    rows.append("%d%s (1/10)" % (cg_rows[(mode, cfg)], unit))
            line += "   " + ", ".join(rows)
            w(line)
    if have_cg and empty_ir is not None:
        w("")
        w("(every Ir figure includes the backend's own startup and exit; an empty session costs %s Ir)"
          % "{:,}".format(empty_ir))
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
