"""Runs the fenced examples of README.md and docs/*.md as written; prints TAP.

Each document runs top to bottom in its own database (dropped before and
after): ```sql blocks through `psql -X -q -v ON_ERROR_STOP=1` at the top of
the repository, ```sh blocks with `bash -e` there. A ```text block right
after a runnable block is that block's output, compared line by line once
both sides have their timestamps replaced by <time> and trailing blanks
removed; a line holding only `...` stands for any number of lines, and
`...` inside a line for any text. ```json and other blocks are data.

Directives, as HTML comments (GitHub does not show them):
  <!-- docs-test: database NAME -->  the database the blocks after it use
                                     (before it: sg_docs_<document>)
  <!-- docs-test: created by the document -->  a block creates that
                                     database (createdb); else the test does
  <!-- docs-test: skip (REASON) -->  the next block is not run here;
                                     REASON names what runs it
Every database a document uses or creates is dropped before and after it.
Documents with a test of their own are left to it (OWN_TESTS).

Usage: docs_examples.py ROOT
"""

import os
import re
import subprocess
import sys
import tempfile

# Documents whose blocks need a project around them, run by their own test.
OWN_TESTS = {
    "docs/django.md": "test/shell/docs_django_ci.sh",
    "docs/ci.md": "test/shell/docs_django_ci.sh",
    "docs/staging.md": "test/shell/staging_docs.sh",
}

FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->")
TIME = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( ?(UTC|Z|[+-]\d\d(:?\d\d)?))?"
)


class Block:
    def __init__(self, lang, text, line, skip, database):
        self.database = database
        self.lang = lang
        self.text = text
        self.line = line
        self.skip = skip
        self.expected = None


def parse(path, default_db):
    """The document's blocks, each with the database it runs in (a text
    block is attached to the runnable block before it)."""
    blocks = []
    database = default_db
    created = set()
    skip = None
    lang = None
    body = []
    start = 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines, 1):
        if lang is not None:
            if line.strip() == "```":
                block = Block(lang, "\n".join(body) + "\n", start, skip, database)
                skip = None
                if lang == "text" and blocks and blocks[-1].lang in ("sql", "sh") \
                        and blocks[-1].expected is None and blocks[-1].skip is None:
                    blocks[-1].expected = block.text
                else:
                    blocks.append(block)
                lang = None
            else:
                body.append(line)
            continue
        m = FENCE.match(line)
        if m:
            lang, body, start = m.group(1), [], no
            continue
        for d in DIRECTIVE.findall(line):
            if d.startswith("database "):
                database = d.split()[1]
            elif d == "created by the document":
                created.add(database)
            elif d.startswith("skip"):
                skip = d[4:].strip(" ()") or "no reason given"
    return blocks, created


LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    out = set()
    fenced = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                title = line.lstrip("#").strip().lower()
                out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def broken_links(root, doc):
    """Relative links of a document whose file or heading does not exist."""
    bad = []
    here = os.path.dirname(os.path.join(root, doc))
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        text = f.read()
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(here, path)) if path else os.path.join(root, doc)
        if not os.path.exists(full):
            bad.append(target)
        elif anchor and full.endswith(".md") and anchor not in anchors(full):
            bad.append(target)
    return bad


def normalise(text):
    lines = [TIME.sub("<time>", ln.rstrip()) for ln in text.rstrip("\n").split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def matches(expected, actual):
    parts = []
    for ln in normalise(expected):
        if ln.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(p) for p in ln.split("...")) + r"\n")
    return re.fullmatch("".join(parts), "\n".join(normalise(actual)) + "\n") is not None


def psql(root, database, *args, **kw):
    return subprocess.run(["psql", "-X", "-q", "-d", database, *args], cwd=root,
                          capture_output=True, text=True, **kw)


def databases(root):
    """The databases of the cluster: what a document creates is dropped after it."""
    out = psql(root, "postgres", "-At", "-c", "SELECT datname FROM pg_database").stdout
    return set(out.split())


def untracked(root):
    """Files of the checkout git does not know: a document leaves none."""
    p = subprocess.run(["git", "-C", root, "ls-files", "--others", "--exclude-standard"],
                       capture_output=True, text=True)
    return set(p.stdout.split()) if p.returncode == 0 else set()


def run(root, block, env):
    with tempfile.NamedTemporaryFile("w", suffix="." + block.lang, delete=False) as f:
        f.write(block.text)
        name = f.name
    try:
        if block.lang == "sql":
            cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", block.database, "-f", name]
        else:
            cmd = ["bash", "-e", name]
        p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                           timeout=600)
        return p.returncode, p.stdout, p.stderr
    finally:
        os.unlink(name)


def main():
    root = sys.argv[1]
    docs = ["README.md"] + sorted(
        "docs/" + f for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    env = dict(os.environ)
    # Debian's python3 and its packages, whatever else is on PATH.
    env["PATH"] = "/usr/bin:" + env.get("PATH", "")
    env.pop("PGDATABASE", None)
    plan = []
    for doc in docs:
        if doc in OWN_TESTS:
            plan.append((doc, None, None))
            continue
        stem = os.path.splitext(os.path.basename(doc))[0].lower()
        blocks, created = parse(os.path.join(root, doc), "sg_docs_" + stem)
        plan.append((doc, [b for b in blocks if b.lang in ("sql", "sh")], created))
    print(f"1..{sum(len(b) + 1 if b else 1 for _, b, _ in plan) + len(docs)}")
    n = 0
    failed = 0

    def tap(ok, what, diag=""):
        nonlocal n, failed
        n += 1
        print(("ok" if ok else "not ok") + f" {n} - {what}")
        if not ok:
            failed += 1
            for ln in diag.rstrip("\n").split("\n")[-40:]:
                print("# " + ln)
        sys.stdout.flush()

    for doc in docs:
        bad = broken_links(root, doc)
        tap(not bad, f"{doc}: every relative link reaches a file and heading",
            "broken: " + ", ".join(bad))

    for doc, blocks, created in plan:
        if blocks is None:
            tap(True, f"{doc}: run as written by {OWN_TESTS[doc]}")
            continue
        if not blocks:
            tap(True, f"{doc}: no runnable block")
            continue
        files = untracked(root)
        names = {b.database for b in blocks}
        for name in names:
            psql(root, "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"')
        before = databases(root)
        present = set(before)
        for b in blocks:
            what = f"{doc}:{b.line} ({b.lang}) {b.text.strip().split(chr(10))[0][:60]}"
            if b.skip:
                n += 1
                print(f"ok {n} - {what} # SKIP {b.skip}")
                continue
            if b.database not in created and b.database not in present:
                subprocess.run(["createdb", b.database], check=True)
                present.add(b.database)
            rc, out, err = run(root, b, env)
            if rc != 0:
                tap(False, what, f"exit {rc}\n{out}{err}")
            elif b.expected is not None and not matches(b.expected, out):
                tap(False, what + " (output as shown)",
                    "shown:\n" + b.expected + "printed:\n" + out)
            else:
                tap(True, what + (" (output as shown)" if b.expected is not None else ""))
        for name in (databases(root) - before) | names:
            psql(root, "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"')
        left = untracked(root) - files
        for name in left:
            os.unlink(os.path.join(root, name))
        tap(not left, f"{doc}: its examples leave no file in the checkout",
            "left (now removed): " + ", ".join(sorted(left)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
