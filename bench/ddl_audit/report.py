#!/usr/bin/env python3
"""Format the DDL-audit benchmark's results.tsv as one table per mode.

results.tsv columns: phase(cpu|cg) mode config round value rows wall_s [bytes]
  cpu: value = backend utime+stime over the workload, in clock ticks
  cg:  value = the backend's total Ir (cachegrind summary line)
  rows = audit rows the configuration wrote (pgaudit: AUDIT lines in the log)
  bytes = their size (sum of pg_column_size(row); pgaudit: bytes of those lines)

    report.py results.tsv [--cpu-scale S] [--cg-scale S] [--clk-tck N] ...
"""

import argparse
import signal
import statistics
from collections import defaultdict
from fractions import Fraction

CONFIGS = ["noaudit", "schema_guard", "pgaudit", "plpgsql", "empty_evt", "schema_guard_off",
           "guard_off"]
LABEL = {
    "noaudit": "no audit",
    "schema_guard": "schema_guard",
    "pgaudit": "pgaudit (log=ddl)",
    "plpgsql": "PL/pgSQL trigger pair",
    "empty_evt": "(empty event triggers)",
    "schema_guard_off": "(schema_guard, audit=off)",
    "guard_off": "schema_guard, guard=off",
}
MODES = [("autocommit", "autocommit (one statement per transaction)"),
         ("onetx", "one transaction (BEGIN; ... COMMIT;)")]


def scale_label(s):
    s = float(s)
    if s == 1:
        return "full"
    fr = Fraction(s).limit_denominator(100)
    if fr.numerator == 1:
        return "1/%d" % fr.denominator
    return "x%g" % s


def human(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1024.0


def pct(x, ref, digits=1):
    if not ref or x is None:
        return "-"
    return "%+.*f %%" % (digits, 100.0 * (x - ref) / ref)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--cpu-stats", default="")
    ap.add_argument("--cg-stats", default="")
    ap.add_argument("--cpu-scale", default="1")
    ap.add_argument("--cg-scale", default="0.1")
    ap.add_argument("--clk-tck", type=int, default=100)
    ap.add_argument("--skipped", default="")
    ap.add_argument("--note", action="append", default=[])
    a = ap.parse_args()

    cpu = defaultdict(dict)        # (mode, cfg) -> {round: ticks}
    cpu_rows = {}
    cg_r = defaultdict(dict)       # (mode, cfg) -> {round: Ir}
    cg_rows = {}
    empty_ir = None
    with open(a.results) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 7:
                continue
            phase, mode, cfg, rnd, value, rows, _wall = p[:7]
            nbytes = int(p[7]) if len(p) > 7 and p[7] else None
            rows = (int(rows), nbytes)
            if phase == "cpu":
                cpu[(mode, cfg)][rnd] = int(value)
                cpu_rows[(mode, cfg)] = rows
            elif phase == "cg" and cfg == "empty_session":
                empty_ir = int(value)
            elif phase == "cg":
                cg_r[(mode, cfg)][rnd] = int(value)
                cg_rows[(mode, cfg)] = rows
    cg = {k: int(statistics.median(v.values())) for k, v in cg_r.items()}
    cg_n = max((len(v) for v in cg_r.values()), default=0)

    have_cpu = bool(cpu)
    have_cg = bool(cg)
    cpu_sl = scale_label(a.cpu_scale)
    cg_sl = scale_label(a.cg_scale)
    tck = float(a.clk_tck)
    skipped = [s for s in a.skipped.split(",") if s]
    out = []
    w = out.append
    w("")
    w("schema_guard DDL-audit benchmark (PostgreSQL 15)")
    if have_cpu:
        n = max(len(v) for v in cpu.values())
        w("  CPU s: backend utime+stime, %s workload (%s),"
          % (cpu_sl, a.cpu_stats or "?"))
        w("         median of %d interleaved round(s); 'vs none' = ratio of medians, 'paired' = median"
          % n)
        w("         of the per-round ratios to the same round's no-audit run")
    if have_cg:
        w("  Ir:    backend instructions (cachegrind, whole backend process), %s workload (%s), %s"
          % (cg_sl, a.cg_stats or "?", "one round" if cg_n == 1 else
             "median of %d rounds, spread = (max-min)/median" % cg_n))
    w("  overhead is vs 'no audit' in the same mode; Ir is the figure that decides"
      " (target for schema_guard: <= +2 %)")
    if skipped:
        w("  NOTE: not installed, skipped: %s" % ", ".join(skipped))
    for n in a.note:
        w("  %s" % n)

    for mode, title in MODES:
        if not any(k[0] == mode for k in list(cpu) + list(cg)):
            continue
        w("")
        w("== %s ==" % title)
        hdr = "%-26s" % "config"
        if have_cpu:
            hdr += " %8s %13s %9s %9s" % ("CPU s", "(min-max)", "vs none", "paired")
        if have_cg:
            hdr += " %15s %9s" % ("Ir (%s)" % cg_sl, "vs none")
            if cg_n > 1:
                hdr += " %7s" % "spread"
        hdr += "   %s" % "audit rows written (size)"
        w(hdr)
        w("-" * len(hdr))
        ref_rounds = cpu.get((mode, "noaudit"), {})
        ref_cpu = statistics.median(ref_rounds.values()) if ref_rounds else None
        ref_cg = cg.get((mode, "noaudit"))
        for cfg in CONFIGS:
            if (mode, cfg) not in cpu and (mode, cfg) not in cg:
                if cfg in skipped:
                    w("%-26s   (not installed - skipped)" % LABEL[cfg])
                continue
            line = "%-26s" % LABEL[cfg]
            if have_cpu:
                v = cpu.get((mode, cfg))
                if v:
                    vals = list(v.values())
                    med = statistics.median(vals)
                    rng = "(%.2f-%.2f)" % (min(vals) / tck, max(vals) / tck)
                    if cfg == "noaudit":
                        line += " %8.2f %13s %9s %9s" % (med / tck, rng, "-", "-")
                    else:
                        paired = [100.0 * (v[r] - ref_rounds[r]) / ref_rounds[r]
                                  for r in v if ref_rounds.get(r)]
                        ps = "%+.1f %%" % statistics.median(paired) if paired else "-"
                        line += " %8.2f %13s %9s %9s" % (med / tck, rng, pct(med, ref_cpu), ps)
                else:
                    line += " %8s %13s %9s %9s" % ("n/a", "", "", "")
            if have_cg:
                v = cg.get((mode, cfg))
                if v is not None:
                    line += " %15s %9s" % ("{:,}".format(v),
                                           "-" if cfg == "noaudit" else pct(v, ref_cg, 2))
                    if cg_n > 1:
                        vals = list(cg_r[(mode, cfg)].values())
                        line += " %6.2f%%" % (100.0 * (max(vals) - min(vals)) / v)
                else:
                    line += " %15s %9s" % ("n/a", "")
                    if cg_n > 1:
                        line += " %7s" % ""
            rows = []
            if cfg in ("noaudit", "empty_evt"):
                rows.append("-")
            else:
                unit = " lines" if cfg == "pgaudit" else ""
                for d, sl in ((cpu_rows, cpu_sl), (cg_rows, cg_sl)):
                    if (mode, cfg) in d:
                        n, nb = d[(mode, cfg)]
                        size = "" if nb is None else ", %s" % human(nb)
                        rows.append("%d%s (%s%s)" % (n, unit, sl, size))
            line += "   " + ", ".join(rows)
            w(line)
    if have_cg and empty_ir is not None:
        w("")
        w("(every Ir figure includes the backend's own startup and exit: an empty session costs %s Ir)"
          % "{:,}".format(empty_ir))
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under | head
    main()
