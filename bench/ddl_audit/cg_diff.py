#!/usr/bin/env python3
"""Where do the extra instructions go?  Diff two cachegrind output files.

    cg_diff.py BASE.cg OTHER.cg [--top N] [--own PREFIX]

Prints, per function (source file:function as cachegrind recorded it), the
Ir of OTHER minus BASE, largest increases first, and the Ir attributed to
source files under PREFIX (default: the repository's src/, i.e. the
extension's own code) in OTHER.  Debian's postgres binary has no debug info,
so its static functions all land in '???:???'; exported ones keep their
names.  Typical use, with files kept by `run --keep DIR`:

    bench/ddl_audit/cg_diff.py DIR/cachegrind/cg.autocommit.noaudit.* \\
                               DIR/cachegrind/cg.autocommit.schema_guard.*
"""

import argparse
import signal
import os
from collections import defaultdict


def load(path):
    tot = defaultdict(int)
    summary = None
    fl = fn = "???"
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("fl="):
                fl = line[3:].rstrip("\n")
            elif line.startswith("fn="):
                fn = line[3:].rstrip("\n")
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
            elif line[:1].isdigit():
                parts = line.split()
                if len(parts) >= 2:
                    tot[(fl, fn)] += int(parts[1])
    return tot, summary


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("other")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--own", default=os.path.normpath(os.path.join(here, "..", "..", "src")) + "/")
    a = ap.parse_args()

    b, bs = load(a.base)
    o, os_ = load(a.other)
    print("base  %s: %s Ir" % (a.base, "{:,}".format(bs or sum(b.values()))))
    print("other %s: %s Ir" % (a.other, "{:,}".format(os_ or sum(o.values()))))
    if bs and os_:
        print("delta: %s Ir (%+.2f %%)" % ("{:,}".format(os_ - bs), 100.0 * (os_ - bs) / bs))

    own = defaultdict(int)
    own_fn = defaultdict(int)
    for (fl, fn), v in o.items():
        if fl.startswith(a.own) or "schema_guard" in fl:
            own[fl] += v
            own_fn[(fl, fn)] += v
    if own:
        total_own = sum(own.values())
        print("\nIr in the extension's own source files (%s): %s" % (a.own, "{:,}".format(total_own)))
        for fl, v in sorted(own.items(), key=lambda kv: -kv[1]):
            print("  %15s  %s" % ("{:,}".format(v), fl))
        print("\n  top functions there:")
        for (fl, fn), v in sorted(own_fn.items(), key=lambda kv: -kv[1])[: a.top]:
            print("  %15s  %s:%s" % ("{:,}".format(v), os.path.basename(fl), fn))

    keys = set(b) | set(o)
    deltas = sorted(((o.get(k, 0) - b.get(k, 0), k) for k in keys), reverse=True)
    print("\nlargest increases (other - base), per function:")
    for d, (fl, fn) in deltas[: a.top]:
        if d <= 0:
            break
        print("  %+15s  %s:%s" % ("{:,}".format(d), os.path.basename(fl) if fl != "???" else "???", fn))
    print("\nlargest decreases:")
    for d, (fl, fn) in sorted(deltas)[:10]:
        if d >= 0:
            break
        print("  %+15s  %s:%s" % ("{:,}".format(d), os.path.basename(fl) if fl != "???" else "???", fn))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under | head
    main()
