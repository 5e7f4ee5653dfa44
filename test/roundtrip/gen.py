#!/usr/bin/env python3
"""Seeded generator of schema pairs for the fix_script() round trip.

A pair is two schemas, A (expected) and B (live): A is a random model of
tables, columns of many types, defaults, NOT NULL, identity and serial
columns, keys, CHECK, EXCLUDE and foreign-key constraints, indexes (partial
and expression ones), views on views, materialized views, enums, domains,
composite types, collations, partitions, inheritance, functions, triggers,
row-level security and policies, grants, owners, standalone sequences,
comments, extensions, unlogged tables and several schemas; B is A after a
random set of mutations, each of which keeps the schema valid. Both come out
as SQL scripts. Standard library only.

    gen.py SEED            prints A, a line "-- ==== B ====", then B
"""
import copy
import random
import sys

ROLES = ["sg_rt_r1", "sg_rt_r2"]
OWNERS = ["sg_rt_o1", "sg_rt_o2"]
EXTENSIONS = ["citext", "hstore", "pg_trgm"]

# Type families whose members cast to each other directly (so that
# ALTER COLUMN ... TYPE ... USING col::new works).
FAMILIES = [
    ["integer", "bigint", "smallint", "numeric(12,2)"],
    ["text", "character varying(40)", "character varying(80)"],
    ["date", "timestamp with time zone", "timestamp without time zone"],
    ["boolean"],
    ["jsonb"],
    ["uuid"],
    ["int4range"],
    ["text[]"],
]


def q(name):
    return '"%s"' % name if not name.islower() or not name.replace("_", "").isalnum() else name


class Namer:
    def __init__(self, rng):
        self.rng = rng
        self.n = 0

    def __call__(self, prefix):
        self.n += 1
        return "%s%d" % (prefix, self.n)


# --------------------------------------------------------------- the model

def new_model(rng):
    name = Namer(rng)
    m = {
        "schemas": ["public", "rt_app"] + (["rt_more"] if rng.random() < 0.5 else []),
        "empty_schemas": ["rt_empty"] if rng.random() < 0.5 else [],
        "extensions": [],
        "collations": [],
        "enums": {},
        "domains": {},
        "composites": {},
        "sequences": {},
        "functions": {},
        "tables": {},
        "views": {},
        "schema_comments": {},
        "schema_grants": {},
        "names": name,
    }
    if rng.random() < 0.4:
        m["extensions"].append(rng.choice(EXTENSIONS))
    if rng.random() < 0.3:
        m["collations"].append(("rt_app", "ci", "und-u-ks-level2"))
    for _ in range(rng.randint(1, 2)):
        labels = ["a", "b", "c", "d"][: rng.randint(2, 4)]
        m["enums"][(rng.choice(m["schemas"]), name("mood"))] = labels
    if rng.random() < 0.6:
        m["domains"][("rt_app", name("posint"))] = {
            "base": "integer", "not_null": rng.random() < 0.3,
            "default": str(rng.randint(1, 9)) if rng.random() < 0.5 else None,
            "check": "CHECK (VALUE > 0)"}
    if rng.random() < 0.5:
        m["composites"][("public", name("pair"))] = [("x", "integer"), ("y", "text")]
    for _ in range(rng.randint(0, 2)):
        m["sequences"][(rng.choice(m["schemas"]), name("seq"))] = {
            "increment": rng.choice([1, 2, 10]), "cycle": rng.random() < 0.3,
            "owned_by": None, "owner": None, "grants": {}, "comment": None}
    for _ in range(rng.randint(0, 3)):
        add_function(m, rng)
    m["functions"][("rt_app", "touch")] = {
        "args": "", "returns": "trigger", "lang": "plpgsql", "volatility": "VOLATILE",
        "body": "BEGIN RETURN NEW; END", "owner": None, "grants": None, "comment": None,
        "secdef": False, "config": None, "trigger": True}
    for _ in range(rng.randint(2, 5)):
        add_table(m, rng)
    if rng.random() < 0.4:
        add_partitioned(m, rng)
    if rng.random() < 0.3:
        add_inheritance(m, rng)
    for _ in range(rng.randint(0, 3)):
        add_view(m, rng)
    for s in m["schemas"][1:]:
        if rng.random() < 0.3:
            m["schema_comments"][s] = "schema " + s
        if rng.random() < 0.3:
            m["schema_grants"][s] = {rng.choice(ROLES): ["USAGE"]}
    return m


def add_function(m, rng):
    name = m["names"]("fn")
    returns = rng.choice(["integer", "text", "boolean"])
    body = {"integer": "SELECT %d" % rng.randint(1, 99), "text": "SELECT 'x%d'::text" % rng.randint(1, 99),
            "boolean": "SELECT true"}[returns]
    m["functions"][(rng.choice(["public", "rt_app"]), name)] = {
        "args": rng.choice(["", "a integer", "a integer, b text"]), "returns": returns,
        "lang": "sql", "volatility": rng.choice(["IMMUTABLE", "STABLE", "VOLATILE"]),
        "body": body, "owner": None, "grants": None, "comment": None,
        "secdef": rng.random() < 0.2, "config": "search_path = pg_catalog" if rng.random() < 0.2 else None,
        "trigger": False}


def column_types(m):
    types = [t for family in FAMILIES for t in family]
    types += ["%s.%s" % k if k[0] != "public" else k[1] for k in m["enums"]]
    types += ["%s.%s" % k for k in m["domains"]]
    types += ["%s" % k[1] for k in m["composites"]]
    if "citext" in m["extensions"]:
        types.append("citext")
    return types


def new_column(m, rng, name):
    t = rng.choice(column_types(m))
    c = {"name": name, "type": t, "not_null": rng.random() < 0.3, "default": None,
         "identity": None, "serial": False, "collation": None, "comment": None}
    if rng.random() < 0.3:
        c["default"] = default_for(m, t, rng)
    if t == "text" and rng.random() < 0.2:
        c["collation"] = rng.choice(['"C"'] + (["rt_app.ci"] if m["collations"] else []))
    if rng.random() < 0.15:
        c["comment"] = "column " + name
    return c


def default_for(m, t, rng):
    if t in ("integer", "bigint", "smallint", "numeric(12,2)"):
        return str(rng.randint(0, 50))
    if t.startswith("text") and not t.endswith("[]") or t.startswith("character varying"):
        return "'v%d'" % rng.randint(0, 9)
    if t == "boolean":
        return rng.choice(["true", "false"])
    if t == "date":
        return "CURRENT_DATE"
    if t.startswith("timestamp"):
        return "now()"
    for k, labels in m["enums"].items():
        if t in ("%s.%s" % k, k[1]):
            return "'%s'" % labels[0]
    return None


def add_table(m, rng, schema=None, name=None):
    schema = schema or rng.choice(m["schemas"])
    name = name or m["names"]("t")
    cols = [{"name": "id", "type": rng.choice(["integer", "bigint"]), "not_null": True,
             "default": None, "identity": None, "serial": False, "collation": None, "comment": None}]
    kind = rng.random()
    if kind < 0.3:
        cols[0]["identity"] = rng.choice(["ALWAYS", "BY DEFAULT"])
    elif kind < 0.5:
        cols[0]["serial"] = True
    for i in range(rng.randint(1, 5)):
        cols.append(new_column(m, rng, "c%d" % i))
    t = {"schema": schema, "name": name, "columns": cols, "pk": ["id"] if rng.random() < 0.8 else None,
         "uniques": [], "checks": [], "fks": [], "indexes": [], "exclusions": [],
         "partition_by": None, "partitions": [], "inherits": None, "unlogged": rng.random() < 0.1,
         "rls": False, "force": False, "policies": [], "triggers": [], "grants": {},
         "owner": rng.choice([None, None] + OWNERS), "comment": "table " + name if rng.random() < 0.2 else None}
    names = m["names"]
    plain = [c for c in cols[1:] if c["type"] in ("integer", "bigint", "text", "date")]
    if plain and rng.random() < 0.4:
        c = rng.choice(plain)
        t["uniques"].append((names("uq"), [c["name"]]))
    ints = [c for c in cols[1:] if c["type"] in ("integer", "bigint", "smallint")]
    if ints and rng.random() < 0.5:
        c = rng.choice(ints)
        t["checks"].append((names("ck"), "CHECK (%s >= 0)" % c["name"], [c["name"]]))
    if plain and rng.random() < 0.6:
        c = rng.choice(plain)
        where = " WHERE %s IS NOT NULL" % c["name"] if rng.random() < 0.4 else ""
        t["indexes"].append((names("ix"), c["name"], False, where, [c["name"]]))
    texts = [c for c in cols[1:] if c["type"] == "text" and not c["collation"]]
    if texts and rng.random() < 0.3:
        c = rng.choice(texts)
        t["indexes"].append((names("ix"), "lower(%s)" % c["name"], False, "", [c["name"]]))
    ranges = [c for c in cols[1:] if c["type"] == "int4range"]
    if ranges and rng.random() < 0.5:
        c = rng.choice(ranges)
        t["exclusions"].append((names("ex"), "EXCLUDE USING gist (%s WITH &&)" % c["name"], [c["name"]]))
    targets = [o for o in m["tables"].values()
               if o["pk"] and not o["partition_by"] and not o["unlogged"]]
    if targets and rng.random() < 0.5:
        ref = rng.choice(targets)
        ref_type = ref["columns"][0]["type"]
        fk_col = {"name": "ref_id", "type": ref_type, "not_null": False, "default": None,
                  "identity": None, "serial": False, "collation": None, "comment": None}
        cols.append(fk_col)
        t["fks"].append((names("fk"), ["ref_id"], (ref["schema"], ref["name"]), ["id"],
                         rng.choice(["NO ACTION", "CASCADE", "SET NULL"])))
    if rng.random() < 0.3:
        t["triggers"].append((names("tg"), rng.choice(["BEFORE UPDATE", "BEFORE INSERT OR UPDATE"]), True))
    if rng.random() < 0.25:
        t["rls"] = True
        t["force"] = rng.random() < 0.3
        t["policies"].append((names("pol"), rng.choice(["ALL", "SELECT"]), "id > 0",
                              rng.choice(["public", ROLES[0]])))
    if rng.random() < 0.3:
        t["grants"][rng.choice(ROLES)] = sorted(rng.sample(["SELECT", "INSERT", "UPDATE"], rng.randint(1, 2)))
    m["tables"][(schema, name)] = t
    return t


def add_partitioned(m, rng):
    names = m["names"]
    name = names("pt")
    t = add_table(m, rng, schema="public", name=name)
    t["pk"] = None
    t["uniques"] = []
    t["exclusions"] = []
    t["fks"] = []
    t["unlogged"] = False
    t["rls"] = False
    t["policies"] = []
    t["triggers"] = []
    t["columns"][0]["identity"] = None
    t["columns"][0]["serial"] = False
    t["columns"].append({"name": "d", "type": "date", "not_null": True, "default": None,
                         "identity": None, "serial": False, "collation": None, "comment": None})
    t["partition_by"] = "RANGE (d)"
    for year in range(2020, 2020 + rng.randint(1, 3)):
        t["partitions"].append((name + "_%d" % year,
                                "FOR VALUES FROM ('%d-01-01') TO ('%d-01-01')" % (year, year + 1)))


def add_inheritance(m, rng):
    parents = [t for t in m["tables"].values() if not t["partition_by"] and not t["fks"]
               and not t["exclusions"] and t["schema"] == "public"]
    if not parents:
        return
    parent = rng.choice(parents)
    child = add_table(m, rng, schema="public", name=m["names"]("kid"))
    child["inherits"] = (parent["schema"], parent["name"])
    child["columns"] = [c for c in child["columns"] if c["name"] not in [p["name"] for p in parent["columns"]]]
    child["columns"].append({"name": "extra_kid", "type": "text", "not_null": False, "default": None,
                             "identity": None, "serial": False, "collation": None, "comment": None})
    child["pk"] = None
    child["uniques"] = []
    child["checks"] = []
    child["indexes"] = []
    child["fks"] = []
    child["exclusions"] = []
    child["unlogged"] = parent["unlogged"]


def add_view(m, rng):
    sources = [t for t in m["tables"].values() if not t["partitions"] or True]
    sources = [("table", t) for t in sources] + [("view", v) for v in m["views"].values()]
    kind, src = rng.choice(sources)
    cols = src["columns"] if kind == "table" else [{"name": c} for c in src["cols"]]
    names = [c["name"] for c in cols if kind == "view" or c["type"] not in ("jsonb",)]
    if not names:
        return
    picked = sorted(rng.sample(names, rng.randint(1, min(3, len(names)))), key=names.index)
    name = m["names"]("v")
    m["views"][("public", name)] = {
        "name": name, "matview": kind == "table" and rng.random() < 0.25,
        "from": (src["schema"], src["name"]), "cols": picked,
        "where": "%s IS NOT NULL" % picked[0] if rng.random() < 0.5 else None,
        "grants": {rng.choice(ROLES): ["SELECT"]} if rng.random() < 0.3 else {},
        "comment": "view " + name if rng.random() < 0.2 else None,
        "schema": "public", "trigger": False}


# --------------------------------------------------------------- mutations

def mutate(m, rng):
    b = copy.deepcopy(m)
    b["names"] = m["names"]
    ops = [m_drop_table, m_add_table, m_drop_column, m_add_column, m_retype, m_null, m_default,
           m_numbering, m_collation, m_keys, m_checks, m_fks, m_indexes, m_views, m_view_kind,
           m_enum, m_domain, m_composite, m_sequence, m_function, m_trigger, m_policy, m_grants,
           m_owner, m_comment, m_extension, m_schema, m_partition, m_inherit, m_unlogged,
           m_table_kind]
    for _ in range(rng.randint(2, 12)):
        rng.choice(ops)(b, rng)
    return b


def tables(b, plain=True):
    out = []
    for t in b["tables"].values():
        if plain and (t["partition_by"] or t["inherits"] or is_parent(b, t)):
            continue
        out.append(t)
    return out


def is_parent(b, t):
    return any(o["inherits"] == (t["schema"], t["name"]) for o in b["tables"].values())


def referenced(b, t):
    key = (t["schema"], t["name"])
    return any(fk[2] == key for o in b["tables"].values() for fk in o["fks"]) or \
        any(v["from"] == key for v in b["views"].values()) or \
        any(s["owned_by"] and s["owned_by"][0] == key for s in b["sequences"].values())


def drop_view_tree(b, key):
    for vk, v in list(b["views"].items()):
        if v["from"] == key:
            del b["views"][vk]
            drop_view_tree(b, vk)


def m_drop_table(b, rng):
    cands = [t for t in tables(b) if not referenced(b, t)]
    if cands:
        t = rng.choice(cands)
        del b["tables"][(t["schema"], t["name"])]


def m_add_table(b, rng):
    add_table(b, rng)


def column_used(t, name):
    return (t["pk"] and name in t["pk"]) or any(name in u[1] for u in t["uniques"]) or \
        any(name in fk[1] for fk in t["fks"]) or name in t.get("owns", ())


def drop_column_refs(b, t, name):
    t["checks"] = [c for c in t["checks"] if name not in c[2]]
    t["indexes"] = [i for i in t["indexes"] if name not in i[4]]
    t["exclusions"] = [x for x in t["exclusions"] if name not in x[2]]
    for vk, v in list(b["views"].items()):
        if v["from"] == (t["schema"], t["name"]) and name in v["cols"]:
            v["cols"] = [c for c in v["cols"] if c != name]
            if not v["cols"] or v["where"] and name in v["where"]:
                del b["views"][vk]
                drop_view_tree(b, vk)
            else:
                for wk, w in list(b["views"].items()):
                    if w["from"] == vk and name in w["cols"]:
                        del b["views"][wk]
                        drop_view_tree(b, wk)


def m_drop_column(b, rng):
    cands = [(t, c) for t in tables(b) for c in t["columns"][1:] if not column_used(t, c["name"])]
    if cands:
        t, c = rng.choice(cands)
        drop_column_refs(b, t, c["name"])
        t["columns"].remove(c)


def m_add_column(b, rng):
    cands = tables(b)
    if cands:
        t = rng.choice(cands)
        t["columns"].append(new_column(b, rng, b["names"]("n")))


def m_retype(b, rng):
    cands = [(t, c) for t in tables(b) for c in t["columns"][1:]
             if not column_used(t, c["name"]) and not c["collation"]]
    if not cands:
        return
    t, c = rng.choice(cands)
    for family in FAMILIES:
        if c["type"] in family and len(family) > 1:
            c["type"] = rng.choice([x for x in family if x != c["type"]])
            # The default and the index or CHECK may not fit the new type.
            c["default"] = default_for(b, c["type"], rng) if c["default"] else None
            t["checks"] = [k for k in t["checks"] if c["name"] not in k[2]]
            t["indexes"] = [i for i in t["indexes"] if c["name"] not in i[4] or not i[1].startswith("lower")]
            return
    enums = [k for k in b["enums"]]
    for k in enums:
        if c["type"] in ("%s.%s" % k, k[1]) and len(enums) > 1:
            other = rng.choice([e for e in enums if e != k])
            c["type"] = "%s.%s" % other if other[0] != "public" else other[1]
            c["default"] = default_for(b, c["type"], rng) if c["default"] else None
            return


def m_null(b, rng):
    cands = [(t, c) for t in tables(b) for c in t["columns"][1:]]
    if cands:
        t, c = rng.choice(cands)
        c["not_null"] = not c["not_null"]


def m_default(b, rng):
    cands = [(t, c) for t in tables(b) for c in t["columns"][1:] if default_for(b, c["type"], rng)]
    if cands:
        t, c = rng.choice(cands)
        c["default"] = None if c["default"] and rng.random() < 0.5 else default_for(b, c["type"], rng)


def m_numbering(b, rng):
    cands = tables(b)
    if not cands:
        return
    c = rng.choice(cands)["columns"][0]
    choice = rng.choice(["identity", "serial", "plain"])
    c["identity"] = rng.choice(["ALWAYS", "BY DEFAULT"]) if choice == "identity" else None
    c["serial"] = choice == "serial"


def m_collation(b, rng):
    cands = [(t, c) for t in tables(b) for c in t["columns"][1:] if c["type"] == "text"
             and not any(c["name"] in i[4] for i in t["indexes"]) and not column_used(t, c["name"])]
    if cands:
        t, c = rng.choice(cands)
        c["collation"] = rng.choice([None, '"C"', '"POSIX"'])


def m_keys(b, rng):
    cands = [t for t in tables(b) if not referenced(b, t)]
    if not cands:
        return
    t = rng.choice(cands)
    if t["pk"] and rng.random() < 0.5:
        t["pk"] = None
    elif not t["pk"]:
        t["pk"] = ["id"]
        t["columns"][0]["not_null"] = True
    if t["uniques"] and rng.random() < 0.5:
        t["uniques"].pop()
    else:
        plain = [c for c in t["columns"][1:] if c["type"] in ("integer", "bigint", "text", "date")]
        if plain:
            t["uniques"].append((b["names"]("uq"), [rng.choice(plain)["name"]]))


def m_checks(b, rng):
    cands = [t for t in tables(b) if t["checks"] or any(c["type"] in ("integer", "bigint") for c in t["columns"][1:])]
    if not cands:
        return
    t = rng.choice(cands)
    if t["checks"] and rng.random() < 0.5:
        name, expr, cols = t["checks"].pop()
        if rng.random() < 0.5:
            t["checks"].append((name, expr.replace(">= 0", "> -1"), cols))
    else:
        ints = [c for c in t["columns"][1:] if c["type"] in ("integer", "bigint")]
        if ints:
            c = rng.choice(ints)
            t["checks"].append((b["names"]("ck"), "CHECK (%s < 1000000)" % c["name"], [c["name"]]))


def m_fks(b, rng):
    cands = [t for t in tables(b) if t["fks"]]
    if cands:
        t = rng.choice(cands)
        name, cols, ref, ref_cols, action = t["fks"].pop()
        if rng.random() < 0.5:
            t["fks"].append((name, cols, ref, ref_cols, rng.choice(["NO ACTION", "CASCADE", "SET NULL"])))


def m_indexes(b, rng):
    cands = [t for t in tables(b, plain=False) if not t["inherits"]]
    if not cands:
        return
    t = rng.choice(cands)
    if t["indexes"] and rng.random() < 0.6:
        name, expr, unique, where, cols = t["indexes"].pop()
        if rng.random() < 0.4:
            t["indexes"].append((name, expr, unique, "" if where else " WHERE %s IS NOT NULL" % cols[0], cols))
    else:
        plain = [c for c in t["columns"] if c["type"] in ("integer", "bigint", "text", "date")]
        if plain:
            c = rng.choice(plain)
            t["indexes"].append((b["names"]("ix"), c["name"], False, "", [c["name"]]))


def m_views(b, rng):
    if b["views"] and rng.random() < 0.5:
        key = rng.choice(list(b["views"]))
        v = b["views"][key]
        if rng.random() < 0.5:
            v["where"] = None if v["where"] else "%s IS NOT NULL" % v["cols"][0]
        elif rng.random() < 0.5:
            del b["views"][key]
            drop_view_tree(b, key)
        else:
            v["grants"] = {} if v["grants"] else {ROLES[1]: ["SELECT"]}
    else:
        add_view(b, rng)


def m_view_kind(b, rng):
    cands = [v for v in b["views"].values() if b["tables"].get(v["from"])]
    if cands:
        v = rng.choice(cands)
        v["matview"] = not v["matview"]


def m_enum(b, rng):
    if not b["enums"]:
        return
    key = rng.choice(list(b["enums"]))
    labels = b["enums"][key]
    r = rng.random()
    if r < 0.4:
        labels.append(b["names"]("l"))
    elif r < 0.7 and len(labels) > 2:
        # A label no default uses goes.
        used = {d for t in b["tables"].values() for c in t["columns"] for d in [c["default"]] if d}
        free = [l for l in labels[1:] if "'%s'" % l not in used]
        if free:
            labels.remove(rng.choice(free))
    else:
        labels.insert(1, b["names"]("l"))


def m_domain(b, rng):
    if b["domains"]:
        d = rng.choice(list(b["domains"].values()))
        r = rng.random()
        if r < 0.4:
            d["default"] = None if d["default"] else "5"
        elif r < 0.7:
            d["not_null"] = not d["not_null"]
        else:
            d["check"] = "CHECK (VALUE > 0)" if d["check"] != "CHECK (VALUE > 0)" else "CHECK (VALUE > -1)"


def m_composite(b, rng):
    if b["composites"]:
        attrs = rng.choice(list(b["composites"].values()))
        if len(attrs) > 1 and rng.random() < 0.5:
            attrs.pop()
        else:
            attrs.append((b["names"]("z"), "integer"))


def m_sequence(b, rng):
    if b["sequences"] and rng.random() < 0.7:
        key = rng.choice(list(b["sequences"]))
        s = b["sequences"][key]
        r = rng.random()
        if r < 0.25:
            del b["sequences"][key]
        elif r < 0.45:
            s["increment"] += 1
        elif r < 0.6:
            s["cycle"] = not s["cycle"]
        elif r < 0.8:
            s["owner"] = None if s["owner"] else rng.choice(OWNERS)
        else:
            # OWNED BY a column of a table of its schema (same owner).
            cands = [(t, c) for t in tables(b) if t["schema"] == key[0]
                     for c in t["columns"][1:] if c["type"] in ("integer", "bigint")]
            if s["owned_by"] or not cands:
                s["owned_by"] = None
            else:
                t, c = rng.choice(cands)
                s["owned_by"] = ((t["schema"], t["name"]), c["name"])
                t.setdefault("owns", []).append(c["name"])
    else:
        b["sequences"][(rng.choice(b["schemas"]), b["names"]("seq"))] = {
            "increment": 1, "cycle": False, "owned_by": None, "owner": None, "grants": {}, "comment": None}


def m_function(b, rng):
    plain = [k for k, f in b["functions"].items() if not f["trigger"]]
    r = rng.random()
    if plain and r < 0.3:
        f = b["functions"][rng.choice(plain)]
        f["body"] = f["body"].replace("SELECT", "SELECT /* changed */")
    elif plain and r < 0.5:
        f = b["functions"][rng.choice(plain)]
        f["volatility"] = rng.choice(["IMMUTABLE", "STABLE", "VOLATILE"])
    elif plain and r < 0.65:
        f = b["functions"][rng.choice(plain)]
        f["returns"], f["body"] = ("bigint", "SELECT 1::bigint") if f["returns"] != "bigint" else ("integer", "SELECT 2")
    elif plain and r < 0.8:
        del b["functions"][rng.choice(plain)]
    elif r < 0.9:
        b["functions"][("rt_app", "touch")]["body"] = "BEGIN NEW := NEW; RETURN NEW; END"
    else:
        add_function(b, rng)


def m_trigger(b, rng):
    cands = tables(b)
    if not cands:
        return
    t = rng.choice(cands)
    if t["triggers"] and rng.random() < 0.5:
        name, event, enabled = t["triggers"].pop()
        if rng.random() < 0.5:
            t["triggers"].append((name, event, not enabled))
    else:
        t["triggers"].append((b["names"]("tg"), "BEFORE INSERT", True))


def m_policy(b, rng):
    cands = tables(b)
    if not cands:
        return
    t = rng.choice(cands)
    r = rng.random()
    if r < 0.3:
        t["rls"] = not t["rls"]
    elif r < 0.4:
        t["force"] = not t["force"]
    elif t["policies"] and r < 0.7:
        name, cmd, using, role = t["policies"].pop()
        if rng.random() < 0.5:
            t["policies"].append((name, cmd, "id > 1", role))
    else:
        t["policies"].append((b["names"]("pol"), "SELECT", "id < 100", ROLES[1]))


def m_grants(b, rng):
    r = rng.random()
    if r < 0.6:
        cands = list(b["tables"].values())
        if cands:
            t = rng.choice(cands)
            role = rng.choice(ROLES)
            if role in t["grants"]:
                del t["grants"][role]
            else:
                t["grants"][role] = ["SELECT"]
    elif r < 0.8 and b["sequences"]:
        s = rng.choice(list(b["sequences"].values()))
        s["grants"] = {} if s["grants"] else {ROLES[0]: ["USAGE"]}
    else:
        plain = [f for f in b["functions"].values() if not f["trigger"]]
        if plain:
            f = rng.choice(plain)
            f["grants"] = None if f["grants"] else {"revoke_public": True, ROLES[0]: ["EXECUTE"]}


def m_owner(b, rng):
    cands = [t for t in b["tables"].values()
             if not any(s["owned_by"] and s["owned_by"][0] == (t["schema"], t["name"])
                        for s in b["sequences"].values())]
    plain = [f for f in b["functions"].values() if not f["trigger"]]
    if plain and rng.random() < 0.3:
        f = rng.choice(plain)
        f["owner"] = None if f["owner"] else rng.choice(OWNERS)
    elif cands:
        t = rng.choice(cands)
        t["owner"] = rng.choice([None] + OWNERS)


def m_comment(b, rng):
    r = rng.random()
    if r < 0.5 and b["tables"]:
        t = rng.choice(list(b["tables"].values()))
        t["comment"] = None if t["comment"] else "changed " + t["name"]
    elif r < 0.8 and b["tables"]:
        t = rng.choice(list(b["tables"].values()))
        c = rng.choice(t["columns"])
        c["comment"] = None if c["comment"] else "about " + c["name"]
    elif b["functions"]:
        f = rng.choice(list(b["functions"].values()))
        f["comment"] = None if f["comment"] else "does things"


def m_extension(b, rng):
    if b["extensions"] and rng.random() < 0.5:
        ext = b["extensions"][0]
        uses = any(c["type"] == ext for t in b["tables"].values() for c in t["columns"])
        if not uses:
            b["extensions"].remove(ext)
    elif not b["extensions"]:
        b["extensions"].append(rng.choice([e for e in EXTENSIONS if e != "citext"]))


def m_schema(b, rng):
    if b["empty_schemas"] and rng.random() < 0.5:
        b["empty_schemas"] = []
    elif rng.random() < 0.5:
        b["empty_schemas"].append(b["names"]("rt_extra"))
    elif "rt_more" in b["schemas"] and not any(
            k[0] == "rt_more" for part in ("tables", "enums", "sequences", "functions") for k in b[part]) \
            and not any(k[0] == "rt_more" for k in b["views"]):
        b["schemas"].remove("rt_more")
    else:
        add_table(b, rng, schema=rng.choice(b["schemas"]))


def m_partition(b, rng):
    parts = [t for t in b["tables"].values() if t["partition_by"]]
    if not parts:
        return
    t = rng.choice(parts)
    r = rng.random()
    if r < 0.4 and len(t["partitions"]) > 1:
        t["partitions"].pop()
    elif r < 0.7:
        year = 2030 + len(t["partitions"])
        t["partitions"].append((t["name"] + "_%d" % year,
                                "FOR VALUES FROM ('%d-01-01') TO ('%d-01-01')" % (year, year + 1)))
    else:
        extra = [c for c in t["columns"][1:] if c["name"] != "d" and not any(c["name"] in i[4] for i in t["indexes"])]
        if extra and rng.random() < 0.5:
            drop_column_refs(b, t, extra[0]["name"])
            t["columns"].remove(extra[0])
        else:
            t["columns"].append(new_column(b, rng, b["names"]("pc")))


def m_inherit(b, rng):
    kids = [t for t in b["tables"].values() if t["inherits"]]
    if kids and rng.random() < 0.5:
        kids[0]["columns"].append(new_column(b, rng, b["names"]("kc")))
    elif kids:
        parent = b["tables"][kids[0]["inherits"]]
        parent["columns"].append(new_column(b, rng, b["names"]("pcol")))


def m_unlogged(b, rng):
    cands = [t for t in tables(b) if not t["fks"] and not referenced(b, t)]
    if cands:
        t = rng.choice(cands)
        t["unlogged"] = not t["unlogged"]


def m_table_kind(b, rng):
    """A table that nothing refers to becomes a view over another, or the
    other way round."""
    cands = [t for t in tables(b) if not referenced(b, t) and not t["fks"]]
    if cands and rng.random() < 0.5:
        t = rng.choice(cands)
        others = [o for o in b["tables"].values() if o is not t]
        if not others:
            return
        src = rng.choice(others)
        del b["tables"][(t["schema"], t["name"])]
        b["views"][(t["schema"], t["name"])] = {
            "name": t["name"], "matview": False, "from": (src["schema"], src["name"]),
            "cols": [src["columns"][0]["name"]], "where": None, "grants": {}, "comment": None,
            "schema": t["schema"], "trigger": False}
    else:
        plain_views = [k for k, v in b["views"].items()
                       if not any(w["from"] == k for w in b["views"].values())]
        if plain_views:
            key = rng.choice(plain_views)
            del b["views"][key]
            add_table(b, rng, schema=key[0], name=key[1])


# --------------------------------------------------------------- rendering

def qual(key):
    return "%s.%s" % (q(key[0]), q(key[1]))


def render(m):
    out = []
    emit = out.append
    for s in m["schemas"] + m["empty_schemas"]:
        if s != "public":
            emit("CREATE SCHEMA %s;" % q(s))
    for e in m["extensions"]:
        emit("CREATE EXTENSION %s WITH SCHEMA public;" % e)
    for schema, name, locale in m["collations"]:
        emit("CREATE COLLATION %s.%s (provider = icu, locale = '%s', deterministic = false);"
             % (schema, name, locale))
    for key, labels in m["enums"].items():
        emit("CREATE TYPE %s AS ENUM (%s);" % (qual(key), ", ".join("'%s'" % l for l in labels)))
    for key, d in m["domains"].items():
        emit("CREATE DOMAIN %s AS %s%s%s %s;" % (
            qual(key), d["base"], " DEFAULT " + d["default"] if d["default"] else "",
            " NOT NULL" if d["not_null"] else "", d["check"]))
    for key, attrs in m["composites"].items():
        emit("CREATE TYPE %s AS (%s);" % (qual(key), ", ".join("%s %s" % a for a in attrs)))
    for key, s in m["sequences"].items():
        emit("CREATE SEQUENCE %s INCREMENT BY %d%s;" % (qual(key), s["increment"], " CYCLE" if s["cycle"] else ""))
    for key, f in m["functions"].items():
        emit(render_function(key, f))
    ordered = sorted(m["tables"].values(), key=lambda t: (t["inherits"] is not None, t["schema"], t["name"]))
    for t in ordered:
        emit(render_table(t))
        for pname, bound in t["partitions"]:
            emit("CREATE TABLE %s.%s PARTITION OF %s %s;" % (q(t["schema"]), q(pname), qual((t["schema"], t["name"])), bound))
    for t in ordered:
        for name, cols, ref, ref_cols, action in t["fks"]:
            emit("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s;" % (
                qual((t["schema"], t["name"])), name, ", ".join(cols), qual(ref), ", ".join(ref_cols), action))
        for name, expr, unique, where, _ in t["indexes"]:
            emit("CREATE %sINDEX %s ON %s (%s)%s;" % ("UNIQUE " if unique else "", name,
                                                      qual((t["schema"], t["name"])), expr, where))
    for key in view_order(m):
        v = m["views"][key]
        emit("CREATE %s %s AS SELECT %s FROM %s%s;" % (
            "MATERIALIZED VIEW" if v["matview"] else "VIEW", qual(key), ", ".join(v["cols"]),
            qual(v["from"]), " WHERE " + v["where"] if v["where"] else ""))
    for t in ordered:
        emit(render_table_extras(t))
    for key in m["views"]:
        v = m["views"][key]
        for role, privs in v["grants"].items():
            emit("GRANT %s ON %s TO %s;" % (", ".join(privs), qual(key), role))
        if v["comment"]:
            emit("COMMENT ON %s %s IS '%s';" % ("MATERIALIZED VIEW" if v["matview"] else "VIEW", qual(key), v["comment"]))
    for key, s in m["sequences"].items():
        for role, privs in s["grants"].items():
            emit("GRANT %s ON SEQUENCE %s TO %s;" % (", ".join(privs), qual(key), role))
        owner = s["owner"]
        if s["owned_by"] and s["owned_by"][0] in m["tables"]:
            table = m["tables"][s["owned_by"][0]]
            owner = table["owner"]
            if owner:
                emit("ALTER SEQUENCE %s OWNER TO %s;" % (qual(key), owner))
            emit("ALTER SEQUENCE %s OWNED BY %s.%s;" % (qual(key), qual(s["owned_by"][0]), s["owned_by"][1]))
        elif owner:
            emit("ALTER SEQUENCE %s OWNER TO %s;" % (qual(key), owner))
    for s, comment in m["schema_comments"].items():
        if s in m["schemas"]:
            emit("COMMENT ON SCHEMA %s IS '%s';" % (q(s), comment))
    for s, grants in m["schema_grants"].items():
        if s in m["schemas"]:
            for role, privs in grants.items():
                emit("GRANT %s ON SCHEMA %s TO %s;" % (", ".join(privs), q(s), role))
    return "\n".join(x for x in out if x) + "\n"


def render_function(key, f):
    sql = "CREATE FUNCTION %s(%s) RETURNS %s LANGUAGE %s %s%s%s AS $fn$%s$fn$;" % (
        qual(key), f["args"], f["returns"], f["lang"], f["volatility"] if not f["trigger"] else "",
        " SECURITY DEFINER" if f["secdef"] else "", " SET " + f["config"] if f["config"] else "", f["body"])
    args = ", ".join(a.split()[1] for a in f["args"].split(", ")) if f["args"] else ""
    if f["grants"]:
        if f["grants"].get("revoke_public"):
            sql += "\nREVOKE ALL ON FUNCTION %s(%s) FROM PUBLIC;" % (qual(key), args)
        for role, privs in f["grants"].items():
            if role != "revoke_public":
                sql += "\nGRANT %s ON FUNCTION %s(%s) TO %s;" % (", ".join(privs), qual(key), args, role)
    if f["comment"]:
        sql += "\nCOMMENT ON FUNCTION %s(%s) IS '%s';" % (qual(key), args, f["comment"])
    if f["owner"]:
        sql += "\nALTER FUNCTION %s(%s) OWNER TO %s;" % (qual(key), args, f["owner"])
    return sql


def render_table(t):
    parts = []
    for c in t["columns"]:
        d = "%s %s" % (c["name"], ("bigserial" if c["type"] == "bigint" else "serial") if c["serial"] else c["type"])
        if c["collation"]:
            d += " COLLATE " + c["collation"]
        if c["identity"]:
            d += " GENERATED %s AS IDENTITY" % c["identity"]
        elif c["default"] and not c["serial"]:
            d += " DEFAULT " + c["default"]
        if c["not_null"]:
            d += " NOT NULL"
        parts.append(d)
    if t["pk"]:
        parts.append("PRIMARY KEY (%s)" % ", ".join(t["pk"]))
    for name, cols in t["uniques"]:
        parts.append("CONSTRAINT %s UNIQUE (%s)" % (name, ", ".join(cols)))
    for name, expr, _ in t["checks"]:
        parts.append("CONSTRAINT %s %s" % (name, expr))
    for name, expr, _ in t["exclusions"]:
        parts.append("CONSTRAINT %s %s" % (name, expr))
    sql = "CREATE %sTABLE %s (%s)" % ("UNLOGGED " if t["unlogged"] else "", qual((t["schema"], t["name"])),
                                       ", ".join(parts))
    if t["inherits"]:
        sql += " INHERITS (%s)" % qual(t["inherits"])
    if t["partition_by"]:
        sql += " PARTITION BY " + t["partition_by"]
    return sql + ";"


def render_table_extras(t):
    out = []
    name = qual((t["schema"], t["name"]))
    for tname, event, enabled in t["triggers"]:
        out.append("CREATE TRIGGER %s %s ON %s FOR EACH ROW EXECUTE FUNCTION rt_app.touch();" % (tname, event, name))
        if not enabled:
            out.append("ALTER TABLE %s DISABLE TRIGGER %s;" % (name, tname))
    if t["rls"]:
        out.append("ALTER TABLE %s ENABLE ROW LEVEL SECURITY;" % name)
    if t["force"]:
        out.append("ALTER TABLE %s FORCE ROW LEVEL SECURITY;" % name)
    for pname, cmd, using, role in t["policies"]:
        out.append("CREATE POLICY %s ON %s FOR %s TO %s USING (%s);" % (pname, name, cmd, role, using))
    for role, privs in t["grants"].items():
        out.append("GRANT %s ON %s TO %s;" % (", ".join(privs), name, role))
    if t["owner"]:
        out.append("ALTER TABLE %s OWNER TO %s;" % (name, t["owner"]))
    if t["comment"]:
        out.append("COMMENT ON TABLE %s IS '%s';" % (name, t["comment"]))
    for c in t["columns"]:
        if c["comment"]:
            out.append("COMMENT ON COLUMN %s.%s IS '%s';" % (name, c["name"], c["comment"]))
    return "\n".join(out)


def view_order(m):
    done = []
    pending = list(m["views"])
    while pending:
        for key in list(pending):
            src = m["views"][key]["from"]
            if src not in m["views"] or src in done:
                done.append(key)
                pending.remove(key)
    return done


def pair(seed):
    rng = random.Random(seed)
    a = new_model(rng)
    b = mutate(a, rng)
    return render(a), render(b)


def main():
    seed = int(sys.argv[1])
    a, b = pair(seed)
    sys.stdout.write(a + "-- ==== B ====\n" + b)


if __name__ == "__main__":
    main()
