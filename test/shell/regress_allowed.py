#!/usr/bin/env python3
"""Filters a unified diff of two pg_regress result directories (plain run
against run with schema_guard installed) down to the hunks that
test/README.md does not explain, and exits 1 if any is left.

Lines are compared with runs of blanks collapsed and table borders
reduced to one token, so that a row the extension adds to a listing does
not make the rows around it differ by their padding. What a hunk then
still adds or removes must each match one of the expressions test/README.md
allows for that result file: a fenced block after the line
"<!-- regress-allowed -->", one entry per line, "<result file>
<regular expression>"."""
import collections
import re
import sys


def normal(line):
    line = " ".join(line.split())
    return "<border>" if line and set(line) <= set("-+ ") else line


def allowed_patterns(readme):
    text = open(readme, encoding="utf-8").read()
    marker = text.find("<!-- regress-allowed -->")
    if marker < 0:
        return {}
    block = re.search(r"```\n(.*?)```", text[marker:], re.S)
    patterns = {}
    for line in (block.group(1) if block else "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, expression = line.partition(" ")
        patterns.setdefault(name, []).append(re.compile(expression.strip()))
    return patterns


def hunks(diff):
    current = None
    hunk = None
    for line in open(diff, encoding="utf-8", errors="replace"):
        if line.startswith("diff ") or line.startswith("Only in "):
            if hunk:
                yield current, hunk
            hunk = None
            current = line.split()[-1].rsplit("/", 1)[-1] if line.startswith("diff ") else None
            if line.startswith("Only in "):
                yield None, [line]
            continue
        if line.startswith("--- ") or line.startswith("+++ "):
            continue
        if line.startswith("@@"):
            if hunk:
                yield current, hunk
            hunk = [line]
        elif hunk is not None:
            hunk.append(line)
    if hunk:
        yield current, hunk


def main():
    patterns = allowed_patterns(sys.argv[1])
    left = 0
    for name, hunk in hunks(sys.argv[2]):
        removed = collections.Counter(normal(l[1:]) for l in hunk[1:] if l[:1] == "-")
        added = collections.Counter(normal(l[1:]) for l in hunk[1:] if l[:1] == "+")
        changed = list((removed - added).elements()) + list((added - removed).elements())
        rules = patterns.get(name, []) if name else []
        if not changed or all(any(r.search(c) for r in rules) for c in changed):
            continue
        left += 1
        sys.stdout.write((name or "") + "\n" + "".join(hunk))
    sys.exit(1 if left else 0)


if __name__ == "__main__":
    main()
