#!/usr/bin/env python3
"""Splits the samples of a backend's perf profile into where the time went.

  perf script -F ip,sym -i perf.data | perf_fold.py

Each sample's call stack (recorded with --call-graph dwarf) is put in the
first category, in the order below, whose marker appears anywhere in it; so
"catalog scans" is the PostgreSQL side of the catalog read and
"ReadCatalog" the C++ work on what it gathered.  A
stack the unwinder cut short (deep executor stacks often are) matches no
marker: it is counted apart, and is nearly always executor work.
"""
import collections
import sys

CATEGORIES = [
    ("SPI_execute_with_args", "SQL: the expected manifest and ignore rules (SPI)"),
    ("SPI_getvalue", "SPI: result cells to C strings (SPI_getvalue)"),
    ("Expressions", "default expressions printed (pg_get_expr, once each)"),
    ("ReadRaw", "catalog scans, rows into plain structs (ReadRaw)"),
    ("ParseJson", "C++: ParseJson"),
    ("ReadManifest", "C++: ReadManifest (JSON -> model)"),
    ("WriteManifest", "C++: WriteManifest (model -> tokens)"),
    ("JsonTokensToJsonb", "jsonb built from the manifest tokens"),
    ("ToJsonText", "C++: ToJsonText (JSON -> text)"),
    ("core::Diff", "C++: Diff"),
    ("EmitFindings", "C++: EmitFindings (tuplestore)"),
    ("ReadCatalog", "C++: ReadCatalog (plain structs -> model)"),
    ("RunCheck", "C++: RunCheck, other (app naming, destructors)"),
    ("SnapshotSchema", "C++: SnapshotSchema, other"),
    ("schema_guard_", "schema_guard entry point, other"),
]
OTHER = "stack cut short or outside schema_guard (mostly executor)"


def main():
    counts = collections.Counter()
    stack = []

    def flush():
        if not stack:
            return
        text = " | ".join(stack)
        for marker, name in CATEGORIES:
            if marker in text:
                counts[name] += 1
                break
        else:
            counts[OTHER] += 1
        stack.clear()

    for line in sys.stdin:
        line = line.strip()
        if line:
            stack.append(line)
        else:
            flush()
    flush()
    total = sum(counts.values()) or 1
    for name, n in counts.most_common():
        print(f"{100.0 * n / total:6.1f} %  {n:6d} samples  {name}")


if __name__ == "__main__":
    main()
