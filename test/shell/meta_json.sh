#!/usr/bin/env bash
# META.json is valid under the PGXN Meta Spec 1.0.0 (https://pgxn.org/meta/spec.txt:
# required keys, their types, semantic versions, the known licences, release
# statuses, prereq phases and relations, resources) and agrees with the
# control files: every extension the tree installs is in "provides" with its
# install script and default_version, the distribution's version is theirs,
# and every extension a control file requires is provided or a prereq.
# No server needed; prints TAP.
root=$(cd "$(dirname "$0")/../.." && pwd)
exec python3 - "$root" <<'PY'
import glob, json, os, re, sys

root = sys.argv[1]
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$")
LICENCES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
            "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1",
            "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5",
            "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source",
            "restricted", "unrestricted", "unknown"}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
tests = []

def check(ok, what):
    tests.append((bool(ok), what))

meta = json.load(open(os.path.join(root, "META.json")))
check(isinstance(meta.get("name"), str) and len(meta["name"]) >= 2
      and not re.search(r"[/\\\x00-\x1f]", meta["name"]), "name: a string of two or more characters, no slash or control character")
check(isinstance(meta.get("abstract"), str) and meta["abstract"], "abstract: a non-empty string")
m = meta.get("maintainer")
check(isinstance(m, str) or (isinstance(m, list) and m and all(isinstance(x, str) for x in m)), "maintainer: a string or a list of strings")
lic = meta.get("license")
check(lic in LICENCES or (isinstance(lic, list) and all(x in LICENCES for x in lic))
      or isinstance(lic, dict), "license: a licence the spec names")
check(isinstance(meta.get("version"), str) and SEMVER.match(meta["version"]), "version: a semantic version")
ms = meta.get("meta-spec", {})
check(ms.get("version") == "1.0.0", "meta-spec: version 1.0.0")
check(meta.get("release_status") in ("stable", "testing", "unstable"), "release_status: stable, testing or unstable")
prov = meta.get("provides", {})
check(isinstance(prov, dict) and prov and all(
    isinstance(v, dict) and isinstance(v.get("file"), str) and isinstance(v.get("version"), str)
    and SEMVER.match(v["version"]) and set(v) <= {"file", "version", "abstract", "docfile"}
    for v in prov.values()), "provides: each with a file and a semantic version, no other key")
check(all(os.path.isfile(os.path.join(root, v["file"])) and os.path.isfile(os.path.join(root, v.get("docfile", v["file"])))
          for v in prov.values()), "provides: every file and docfile exists")
pre = meta.get("prereqs", {})
ok = set(pre) <= PHASES
for phase in pre.values():
    ok = ok and set(phase) <= RELATIONS
    for rel in phase.values():
        ok = ok and all(v == 0 or (isinstance(v, str) and (v == "0" or SEMVER.match(re.sub(r"^[<>=! ]+", "", v)))) for v in rel.values())
check(ok, "prereqs: known phases and relations, versions 0 or semantic")
res = meta.get("resources", {})
check(set(res) <= {"homepage", "bugtracker", "repository"}
      and all(isinstance(res.get(k, ""), str) for k in ("homepage",))
      and set(res.get("bugtracker", {})) <= {"web", "mailto"}
      and set(res.get("repository", {})) <= {"url", "web", "type"}, "resources: homepage, bugtracker, repository as the spec shapes them")
check(isinstance(meta.get("tags", []), list) and all(isinstance(t, str) and 0 < len(t) <= 255 for t in meta.get("tags", [])), "tags: strings of at most 255 characters")
known = {"name", "abstract", "maintainer", "license", "version", "meta-spec", "provides", "description",
         "generated_by", "no_index", "prereqs", "release_status", "resources", "tags"}
check(all(k in known or k.lower().startswith("x_") for k in meta), "no key the spec does not define (custom keys start with x_)")

controls = {}
for path in glob.glob(os.path.join(root, "*.control")):
    name = os.path.basename(path)[:-len(".control")]
    text = open(path).read()
    dv = re.search(r"^default_version\s*=\s*'([^']+)'", text, re.M)
    rq = re.search(r"^requires\s*=\s*'([^']*)'", text, re.M)
    controls[name] = (dv.group(1) if dv else None, [x.strip() for x in rq.group(1).split(",")] if rq else [])
check(set(controls) == set(prov), f"provides names exactly the extensions with a control file ({', '.join(sorted(controls))})")
check(all(prov.get(n, {}).get("version") == v and prov[n]["file"] == f"sql/{n}--{v}.sql"
          for n, (v, _) in controls.items()), "each provided extension: its control file's default_version and that version's install script")
check(all(v == meta["version"] for v, _ in controls.values()), "the distribution's version is the extensions' default_version")
prereq_names = {n for phase in pre.values() for rel in phase.values() for n in rel}
check(all(r in prov or r in prereq_names for _, reqs in controls.values() for r in reqs),
      "every extension a control file requires is provided or a prereq")

print(f"1..{len(tests)}")
for i, (ok, what) in enumerate(tests, 1):
    print(("ok" if ok else "not ok") + f" {i} - META.json: {what}")
sys.exit(0 if all(ok for ok, _ in tests) else 1)
PY
