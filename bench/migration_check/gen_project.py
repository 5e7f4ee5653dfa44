#!/usr/bin/env python3
"""Generates a Django project's migrations for the migration-check benchmark.

One in-memory model of the project's history is written three ways, so they
describe the same graph:

  OUT/project/   a real Django project: benchproject/settings.py (the
                 database from the environment, INSTALLED_APPS = the apps)
                 and one package per app with migrations/NNNN_name.py files
  OUT/graph.json the same graph in schema_guard's "schema_guard.migrations/1"
                 format, for schema_guard.declare_migrations()
  OUT/apply.sql  the database as `manage.py migrate` leaves it when the first
                 --applied migrations of the timeline were applied: for each,
                 one transaction with its DDL and its django_migrations row
                 (squashes: the row Django's check_replacements() writes, in
                 a transaction of its own with no DDL)

The history is a timeline: each app starts at some point (later apps later)
and gets its migrations at random times after that; the database is at a
point of that timeline, so what is applied is exactly what came before it
and the history is consistent. Along the timeline:

  * each app's migrations form a chain (NNNN depends on the one before);
  * now and then a migration also depends on the latest migration of an
    earlier app (as makemigrations writes for a ForeignKey to it);
  * merges: two migrations with the same number on one parent (two branches)
    and a merge migration that depends on both;
  * squashes: NNNN_squashed_MMMM_... replacing a run of the app's oldest
    migrations, the replaced files still present (as right after squashing),
    with the replaced migrations' dependencies on other apps;
  * a few RunPython steps (no schema change).

CreateModel and AddField declare what they create ("creates"), and the SQL
creates exactly that, so a consistent database has no faked migration.
Same output for the same arguments (fixed seed). Prints a summary as JSON.
"""
import argparse
import datetime
import json
import os
import random

APP_WORDS = """accounts billing catalog checkout inventory orders payments
shipping customers invoices reports analytics notifications messaging search
reviews coupons loyalty subscriptions pricing warehouse suppliers returns
support tickets audit documents media calendar scheduling payroll employees
contracts projects tasks timesheets expenses budgets ledger taxes currencies
localization geography content blog newsletters campaigns integrations
webhooks apikeys""".split()

NOUNS = """Account Address Batch Carrier Category Channel Comment Contact
Contract Credit Device Discount Entry Event Export Feature File Group Import
Item Job Label Line Member Note Offer Order Partner Payment Period Plan Policy
Price Product Profile Quota Rate Record Refund Region Rule Schedule Segment
Setting Shipment Slot Source Status Step Tag Target Template Token Transfer
Unit Version Visit Voucher Zone""".split()

FIELD_WORDS = """active amount code color comment count created currency
deadline description discount email enabled external flag handle kind label
level max_items locale modified name note number owner phone position priority
quantity rank reference score slug source state status summary title token
total updated url value version weight""".split()

FIELD_KINDS = [
    # (Django field source, SQL type)
    ("models.CharField(max_length={n}, default='')", "varchar({n}) NOT NULL DEFAULT ''"),
    ("models.IntegerField(default=0)", "integer NOT NULL DEFAULT 0"),
    ("models.BooleanField(default=False)", "boolean NOT NULL DEFAULT false"),
    ("models.DateTimeField(null=True, blank=True)", "timestamptz"),
    ("models.DecimalField(max_digits=12, decimal_places=2, default=0)", "numeric(12,2) NOT NULL DEFAULT 0"),
    ("models.TextField(blank=True, default='')", "text NOT NULL DEFAULT ''"),
    ("models.JSONField(default=dict)", "jsonb NOT NULL DEFAULT '{{}}'"),
]


class Migration:
    __slots__ = ("app", "number", "name", "deps", "replaces", "ops", "sql",
                 "tables", "columns", "kind", "time", "runpython")

    def __init__(self, app, number, name, kind):
        self.app = app
        self.number = number
        self.name = name
        self.kind = kind  # normal, initial, branch, merge, squash
        self.deps = []  # (app, name)
        self.replaces = []
        self.ops = []  # Django operation source
        self.sql = []  # the DDL it runs
        self.tables = []  # creates
        self.columns = []  # creates: (table, column)
        self.time = 0.0
        self.runpython = False

    @property
    def key(self):
        return (self.app, self.name)


class App:
    def __init__(self, label, index):
        self.label = label
        self.index = index
        self.migrations = []  # in creation order
        self.leaf = None  # (app, name) the next one depends on
        self.number = 0
        self.models = []  # (model name, table, [char columns])
        self.squashed_upto = 0  # migrations[:squashed_upto] are replaced
        self.pending_merge = None  # remaining slots of a merge group
        self.columns_seen = set()


class Generator:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.apps = []
        self.timeline = []  # every migration, in the order it was made
        self.indexes = 0
        self.counts = {"cross_app_dependencies": 0, "merges": 0,
                       "squashes": 0, "replaced": 0, "runpython": 0,
                       "create_model": 0, "add_field": 0}

    # -- names -------------------------------------------------------------
    def app_label(self, i):
        if i < len(APP_WORDS):
            return APP_WORDS[i]
        return f"{APP_WORDS[i % len(APP_WORDS)]}{i // len(APP_WORDS) + 1}"

    def stamp(self, m):
        t = datetime.datetime(2019, 1, 1) + datetime.timedelta(days=2200 * m.time)
        return t.strftime("%Y%m%d_%H%M")

    # -- operations ----------------------------------------------------------
    def field(self, app, table):
        for _ in range(100):
            word = self.rng.choice(FIELD_WORDS)
            suffix = "" if self.rng.random() < 0.5 else f"_{self.rng.randint(2, 99)}"
            column = word + suffix
            if (table, column) not in app.columns_seen:
                app.columns_seen.add((table, column))
                return column
        raise RuntimeError("no field name left")

    def create_model(self, app, m):
        for _ in range(100):
            name = self.rng.choice(NOUNS) + (self.rng.choice(NOUNS) if self.rng.random() < 0.6 else "")
            if all(name != x[0] for x in app.models):
                break
        table = f"{app.label}_{name.lower()}"
        fields = ["('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID'))",
                  "('name', models.CharField(max_length=100))"]
        cols = ['"id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY', '"name" varchar(100) NOT NULL']
        app.columns_seen.update({(table, "id"), (table, "name")})
        for _ in range(self.rng.randint(2, 6)):
            column = self.field(app, table)
            src, sqltype = self.rng.choice(FIELD_KINDS)
            n = self.rng.choice([20, 50, 100, 255])
            fields.append(f"('{column}', {src.format(n=n)})")
            cols.append(f'"{column}" {sqltype.format(n=n)}')
        if app.models and self.rng.random() < 0.5:
            target_name, target_table, _ = self.rng.choice(app.models)
            column = f"{target_name.lower()}_id"
            if (table, column) not in app.columns_seen and (table, target_name.lower()) not in app.columns_seen:
                app.columns_seen.update({(table, column), (table, target_name.lower())})
                fields.append(f"('{target_name.lower()}', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='{app.label}.{target_name.lower()}'))")
                cols.append(f'"{column}" bigint NOT NULL REFERENCES "{target_table}" ("id") DEFERRABLE INITIALLY DEFERRED')
        m.ops.append("migrations.CreateModel(\n            name='%s',\n            fields=[\n                %s,\n            ],\n        )"
                     % (name, ",\n                ".join(fields)))
        m.sql.append(f'CREATE TABLE "{table}" ({", ".join(cols)});')
        m.tables.append(table)
        app.models.append((name, table, ["name"]))
        self.counts["create_model"] += 1
        return name

    def add_field(self, app, m):
        name, table, chars = self.rng.choice(app.models)
        column = self.field(app, table)
        src, sqltype = self.rng.choice(FIELD_KINDS)
        n = self.rng.choice([20, 50, 100, 255])
        m.ops.append(f"migrations.AddField(\n            model_name='{name.lower()}',\n            name='{column}',\n"
                     f"            field={src.format(n=n)},\n        )")
        m.sql.append(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sqltype.format(n=n)};')
        m.columns.append((table, column))
        self.counts["add_field"] += 1
        return f"{name.lower()}_{column}"

    def alter_field(self, app, m):
        name, table, chars = self.rng.choice(app.models)
        n = self.rng.choice([120, 200, 255, 300])
        m.ops.append(f"migrations.AlterField(\n            model_name='{name.lower()}',\n            name='name',\n"
                     f"            field=models.CharField(max_length={n}),\n        )")
        m.sql.append(f'ALTER TABLE "{table}" ALTER COLUMN "name" TYPE varchar({n});')
        return f"alter_{name.lower()}_name"

    def add_index(self, app, m):
        name, table, chars = self.rng.choice(app.models)
        self.indexes += 1
        index = f"{table[:20]}_{self.indexes}_idx"
        m.ops.append(f"migrations.AddIndex(\n            model_name='{name.lower()}',\n"
                     f"            index=models.Index(fields=['name'], name='{index}'),\n        )")
        m.sql.append(f'CREATE INDEX "{index}" ON "{table}" ("name");')
        return f"{name.lower()}_{index}"

    def run_python(self, app, m):
        m.runpython = self.rng.choice(app.models)[0]
        m.ops.append("migrations.RunPython(forwards, migrations.RunPython.noop)")
        self.counts["runpython"] += 1
        return f"populate_{self.rng.choice(FIELD_WORDS)}"

    def operations(self, app, m):
        r = self.rng.random()
        if not app.models or r < 0.18:
            return self.create_model(app, m).lower()
        if r < 0.62:
            return self.add_field(app, m)
        if r < 0.80:
            return self.alter_field(app, m)
        if r < 1.0 - self.args.runpython:
            return self.add_index(app, m)
        return self.run_python(app, m)

    # -- the timeline ----------------------------------------------------------
    def new_migration(self, app, kind, number=None):
        if number is None:
            app.number += 1
            number = app.number
        return Migration(app.label, number, None, kind)

    def cross_dependency(self, app, m):
        earlier = [a for a in self.apps[:app.index] if a.migrations]
        if not earlier or self.rng.random() >= self.args.cross:
            return
        other = self.rng.choice(earlier)
        if other.pending_merge is not None:
            # between the branches and the merge: take the merged-on parent
            target = other.pending_merge["parent"]
        else:
            target = other.leaf
        if target is not None and target not in m.deps:
            m.deps.append(target)
            self.counts["cross_app_dependencies"] += 1

    def add(self, app, m, time):
        m.time = time
        app.migrations.append(m)
        self.timeline.append(m)

    def normal(self, app, time):
        kind = "initial" if app.number == 0 else "normal"
        m = self.new_migration(app, kind)
        if kind == "initial":
            for _ in range(self.rng.randint(2, 4)):
                self.create_model(app, m)
            base = "initial"
        else:
            base = self.operations(app, m)
            m.deps.append(app.leaf)
        self.cross_dependency(app, m)
        m.name = f"{m.number:04d}_{base}"[:80]
        self.add(app, m, time)
        app.leaf = m.key

    def squash(self, app, time):
        # The oldest run of the app's migrations not squashed yet: no merge
        # group inside, nothing already replaced, all made before now.
        chain = app.migrations
        start = app.squashed_upto
        while start < len(chain) and chain[start].kind not in ("initial", "normal"):
            start += 1  # a merge group or an earlier squash
        length = self.rng.randint(self.args.squash_min, self.args.squash_max)
        end = start
        while end < len(chain) and end - start < length and chain[end].kind in ("initial", "normal"):
            end += 1
        if end - start < self.args.squash_min or end >= len(chain):
            return False
        run = chain[start:end]
        replaced = {x.key for x in run}
        m = self.new_migration(app, "squash", number=run[0].number)
        m.name = f"{run[0].number:04d}_squashed_{run[-1].number:04d}_auto_{self.stamp(run[-1])}"
        for x in run:
            m.replaces.append(x.key)
            for d in x.deps:
                if d not in replaced and d not in m.deps:
                    m.deps.append(d)
            m.ops.extend(op for op in x.ops if "RunPython" not in op)
            m.tables.extend(x.tables)
            m.columns.extend(x.columns)
        # chain[start:end] are replaced; what follows keeps depending on
        # the last of them (Django maps that to the squash)
        app.squashed_upto = end
        self.add(app, m, time)
        self.counts["squashes"] += 1
        self.counts["replaced"] += len(run)
        return True

    def merge_step(self, app, time):
        g = app.pending_merge
        if g is None:
            # first branch
            parent = app.leaf
            app.number += 1
            g = {"parent": parent, "number": app.number, "branches": []}
            app.pending_merge = g
        if len(g["branches"]) < 2:
            m = self.new_migration(app, "branch", number=g["number"])
            base = self.operations(app, m)
            m.deps.append(g["parent"])
            self.cross_dependency(app, m)
            m.name = f"{m.number:04d}_{base}"[:80]
            if any(b[1] == m.name for b in g["branches"]):
                m.name = f"{m.name}_2"
            self.add(app, m, time)
            g["branches"].append(m.key)
            return
        m = self.new_migration(app, "merge")
        m.time = time
        m.name = f"{m.number:04d}_merge_{self.stamp(m)}"
        m.deps.extend(g["branches"])
        self.add(app, m, time)
        app.leaf = m.key
        app.pending_merge = None
        self.counts["merges"] += 1

    def generate(self):
        a = self.args
        n_apps = a.apps
        self.apps = [App(self.app_label(i), i) for i in range(n_apps)]
        per_app = [a.migrations // n_apps + (1 if i < a.migrations % n_apps else 0) for i in range(n_apps)]
        slots = []
        for app, n in zip(self.apps, per_app):
            start = 0.6 * app.index / n_apps
            times = sorted(self.rng.uniform(start, 1.0) for _ in range(n))
            times[0] = start  # the app begins with its initial migration
            slots.extend((t, app.index) for t in times)
        slots.sort()
        remaining = list(per_app)
        for t, i in slots:
            app = self.apps[i]
            left = remaining[i]
            remaining[i] -= 1
            if app.pending_merge is not None:
                self.merge_step(app, t)
                continue
            r = self.rng.random()
            if app.number > 0 and left >= 3 and r < a.merge:
                self.merge_step(app, t)
                continue
            if app.number > 0 and r < a.merge + a.squash and self.squash(app, t):
                continue
            self.normal(app, t)
        assert all(x.pending_merge is None for x in self.apps), "a merge group was cut short"
        assert len(self.timeline) == a.migrations

    # -- outputs -------------------------------------------------------------
    def write_project(self, out):
        root = os.path.join(out, "project")
        os.makedirs(os.path.join(root, "benchproject"), exist_ok=True)
        with open(os.path.join(root, "benchproject", "__init__.py"), "w"):
            pass
        with open(os.path.join(root, "benchproject", "settings.py"), "w") as f:
            f.write("# Generated by bench/migration_check/gen_project.py\n"
                    "import os\n\n"
                    "SECRET_KEY = 'bench-not-secret'\n"
                    "USE_TZ = True\n"
                    "DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'\n"
                    "INSTALLED_APPS = [\n")
            for app in self.apps:
                f.write(f"    '{app.label}',\n")
            f.write("]\n"
                    "DATABASES = {\n"
                    "    'default': {\n"
                    "        'ENGINE': 'django.db.backends.postgresql',\n"
                    "        'NAME': os.environ['BENCH_DB'],\n"
                    "        'USER': os.environ.get('PGUSER', 'postgres'),\n"
                    "        'HOST': os.environ['PGHOST'],  # the socket directory\n"
                    "        'PORT': os.environ['PGPORT'],\n"
                    "    }\n"
                    "}\n")
        for app in self.apps:
            mdir = os.path.join(root, app.label, "migrations")
            os.makedirs(mdir, exist_ok=True)
            with open(os.path.join(root, app.label, "__init__.py"), "w"):
                pass
            with open(os.path.join(mdir, "__init__.py"), "w"):
                pass
            for m in app.migrations:
                with open(os.path.join(mdir, m.name + ".py"), "w") as f:
                    f.write(self.migration_source(m))

    def migration_source(self, m):
        made = datetime.datetime(2019, 1, 1) + datetime.timedelta(days=2200 * m.time)
        lines = [f"# Generated by Django 3.2.25 on {made:%Y-%m-%d %H:%M}", ""]
        lines.append("from django.db import migrations, models")
        if any("deletion" in op for op in m.ops):
            lines.append("import django.db.models.deletion")
        lines.append("")
        if m.runpython:
            lines += ["", "def forwards(apps, schema_editor):",
                      f"    Model = apps.get_model('{m.app}', '{m.runpython}')",
                      "    for row in Model.objects.filter(name=''):",
                      "        row.name = 'unnamed'",
                      "        row.save(update_fields=['name'])", ""]
        lines += ["", "class Migration(migrations.Migration):", ""]
        if m.kind == "initial":
            lines += ["    initial = True", ""]
        if m.replaces:
            lines.append("    replaces = [")
            lines += [f"        ('{a}', '{n}')," for a, n in m.replaces]
            lines += ["    ]", ""]
        lines.append("    dependencies = [")
        lines += [f"        ('{a}', '{n}')," for a, n in m.deps]
        lines += ["    ]", "", "    operations = ["]
        lines += [f"        {op}," for op in m.ops]
        lines += ["    ]", ""]
        return "\n".join(lines)

    def write_graph(self, out):
        migrations = []
        for m in sorted(self.timeline, key=lambda x: (x.app, x.name)):
            d = {"app": m.app, "name": m.name,
                 "dependencies": [list(x) for x in m.deps],
                 "replaces": [list(x) for x in m.replaces],
                 "atomic": True}
            if m.tables or m.columns:
                d["creates"] = {"tables": m.tables, "columns": [list(c) for c in m.columns]}
            migrations.append(d)
        doc = {"format": "schema_guard.migrations/1", "framework": "django",
               "source": "bench/migration_check/gen_project.py", "migrations": migrations}
        with open(os.path.join(out, "graph.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))

    def write_sql(self, out, applied):
        base = datetime.datetime(2019, 1, 1, tzinfo=datetime.timezone.utc)
        with open(os.path.join(out, "apply.sql"), "w") as f:
            # as Django's MigrationRecorder.ensure_schema() makes it
            f.write('CREATE TABLE "django_migrations" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, '
                    '"app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" timestamp with time zone NOT NULL);\n')
            for i, m in enumerate(self.timeline[:applied]):
                # strictly increasing, a few seconds to days apart
                at = base + datetime.timedelta(days=2200 * m.time, microseconds=i)
                f.write("BEGIN;\n")
                if m.kind != "squash":
                    for s in m.sql:
                        f.write(s + "\n")
                f.write(f"INSERT INTO django_migrations (app, name, applied) VALUES "
                        f"('{m.app}', '{m.name}', '{at.isoformat()}');\nCOMMIT;\n")

    def summary(self, applied):
        done = self.timeline[:applied]
        pending = self.timeline[applied:]
        squashes = [m for m in self.timeline if m.kind == "squash"]
        applied_keys = {m.key for m in done}
        squash_states = {"applied": 0, "ready": 0, "partly": 0, "none": 0}
        for s in squashes:
            n = sum(1 for r in s.replaces if r in applied_keys)
            if s.key in applied_keys:
                squash_states["applied"] += 1
            elif n == len(s.replaces):
                squash_states["ready"] += 1
            elif n > 0:
                squash_states["partly"] += 1
            else:
                squash_states["none"] += 1
        s = {"migrations": len(self.timeline), "apps": len(self.apps),
             "history_rows": len(done), "not_applied": len(pending),
             "squash_rows_applied": squash_states["applied"],
             "squashes_all_replaced_applied_row_missing": squash_states["ready"],
             "squashes_partly_applied": squash_states["partly"],
             "squashes_none_applied": squash_states["none"],
             "ddl_statements_applied": sum(len(m.sql) for m in done if m.kind != "squash"),
             "tables_applied": sum(len(m.tables) for m in done if m.kind != "squash")}
        s.update(self.counts)
        return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--migrations", type=int, default=10000)
    p.add_argument("--apps", type=int, default=50)
    p.add_argument("--applied", type=int, default=None, help="history rows (default 90 %% of --migrations)")
    p.add_argument("--cross", type=float, default=0.12, help="share of migrations with a dependency on an earlier app")
    p.add_argument("--merge", type=float, default=0.01, help="share of steps that start a merge group (3 migrations)")
    p.add_argument("--squash", type=float, default=0.004, help="share of steps that squash a run of old migrations")
    p.add_argument("--squash-min", type=int, default=10)
    p.add_argument("--squash-max", type=int, default=40)
    p.add_argument("--runpython", type=float, default=0.03, help="share of migrations with a RunPython step")
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    applied = a.applied if a.applied is not None else a.migrations * 9 // 10
    g = Generator(a)
    g.generate()
    os.makedirs(a.out, exist_ok=True)
    g.write_project(a.out)
    g.write_graph(a.out)
    g.write_sql(a.out, applied)
    print(json.dumps(g.summary(applied)))


if __name__ == "__main__":
    main()
