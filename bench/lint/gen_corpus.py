#!/usr/bin/env python3
"""Writes the lint corpus: the DDL Django's sqlmigrate emits for a six-app
project, migration by migration, against a real database.

    bench/lint/gen_corpus.py OUT_DIR      (PGHOST/PGPORT/PGUSER name the server)

Six apps (licence, core, sales, restaurant, erp, accounts) of four models
each. Every model goes through the same life as in the seed guides: created
(0001), then fields added (nullable, with a default, a foreign key), widened
and re-typed, made NOT NULL, indexed, renamed, made unique, dropped. The
migrations are written here as Django migration files (no models.py is
needed: sqlmigrate works from the migration state); for each one in order,
sqlmigrate prints its SQL and migrate applies it, so that the operations that
introspect the database (AlterField, RemoveField) see the state they expect.

OUT_DIR/lint_schema.sql gets the 0001 migrations (the live schema the
benchmark lints against), OUT_DIR/lint_corpus_django.sql the later ones.
Each statement ends a line with ";", and each migration starts with a
comment naming it. Uses Debian's python3-django and python3-psycopg2.
"""
import os
import subprocess
import sys
import tempfile

APPS = {
    "license": ["licensedetails", "licensecompany", "licenseitem", "licenseport"],
    "core": ["schemecode", "company", "port", "currency"],
    "sales": ["invoice", "customer", "payment", "syncbatch"],
    "restaurant": ["menuitem", "order", "orderitem", "diningtable"],
    "erp": ["warehouse", "stockmove", "purchaseorder", "supplier"],
    "accounts": ["profile", "team", "membership", "apikey"],
}
# The model each app's models point their new foreign key at.
FK_TARGET = {
    "license": ("core", "company"),
    "core": ("accounts", "team"),
    "sales": ("core", "company"),
    "restaurant": ("sales", "customer"),
    "erp": ("core", "port"),
    "accounts": ("core", "currency"),
}

HEADER = "from django.db import migrations, models\nimport django.db.models.deletion\n\n"


def migration(deps, operations, atomic=True):
    deps_text = ", ".join("(%r, %r)" % d for d in deps)
    ops_text = "".join("        %s,\n" % op for op in operations)
    atomic_text = "" if atomic else "    atomic = False\n"
    return (HEADER + "class Migration(migrations.Migration):\n" + atomic_text
            + "    dependencies = [%s]\n" % deps_text
            + "    operations = [\n" + ops_text + "    ]\n")


def initial(app):
    ops = []
    for model in APPS[app]:
        ops.append(
            "migrations.CreateModel(name=%r, fields=["
            "('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)), "
            "('title', models.CharField(max_length=50)), "
            "('qty', models.IntegerField(default=0)), "
            "('note', models.CharField(max_length=100, null=True)), "
            "('ref_no', models.CharField(max_length=20)), "
            "('legacy_code', models.CharField(max_length=10, null=True)), "
            "('amount', models.DecimalField(max_digits=10, decimal_places=2, default=0)), "
            "('created', models.DateTimeField(auto_now_add=True))])" % model.capitalize())
    return migration([], ops)


def later(app):
    """The app's migrations after 0001, as (name, text)."""
    models_ = APPS[app]
    target_app, target_model = FK_TARGET[app]

    def each(template):
        return [template.format(m=m, M=m.capitalize(), app=app) for m in models_]

    out = []
    out.append(("0002_status_active_title", migration([(app, "0001_initial")],
        each("migrations.AddField(model_name='{m}', name='status', field=models.CharField(max_length=20, null=True))")
        + each("migrations.AddField(model_name='{m}', name='is_active', field=models.BooleanField(default=True))")
        + each("migrations.AlterField(model_name='{m}', name='title', field=models.CharField(max_length=120))"))))
    out.append(("0003_owner_created_idx", migration(
        [(app, "0002_status_active_title"), (target_app, "0001_initial")],
        each("migrations.AddField(model_name='{m}', name='owner', field=models.ForeignKey(null=True, "
             "on_delete=django.db.models.deletion.SET_NULL, to='%s.%s'))" % (target_app, target_model))
        + each("migrations.AddIndex(model_name='{m}', index=models.Index(fields=['created'], name='{app}_{m}_created_idx'))"))))
    out.append(("0004_qty_bigint_note_required", migration([(app, "0003_owner_created_idx")],
        each("migrations.AlterField(model_name='{m}', name='qty', field=models.BigIntegerField(default=0))")
        + each("migrations.AlterField(model_name='{m}', name='note', field=models.CharField(max_length=100, default=''))")
        + each("migrations.AlterField(model_name='{m}', name='amount', field=models.DecimalField(max_digits=14, decimal_places=2, default=0))"))))
    out.append(("0005_reference_unique", migration([(app, "0004_qty_bigint_note_required")],
        each("migrations.RenameField(model_name='{m}', old_name='ref_no', new_name='reference')")
        + each("migrations.AddConstraint(model_name='{m}', constraint=models.UniqueConstraint(fields=['reference'], name='{app}_{m}_reference_uniq'))")
        + each("migrations.AddField(model_name='{m}', name='external_id', field=models.UUIDField(null=True, unique=True))"))))
    out.append(("0006_drop_legacy_title_text", migration([(app, "0005_reference_unique")],
        each("migrations.RemoveField(model_name='{m}', name='legacy_code')")
        + each("migrations.AlterField(model_name='{m}', name='title', field=models.TextField())")
        + each("migrations.RemoveIndex(model_name='{m}', name='{app}_{m}_created_idx')")
        + each("migrations.AlterField(model_name='{m}', name='status', field=models.CharField(max_length=20, null=True, db_index=True))"))))
    return out


def write_project(root, db):
    os.makedirs(os.path.join(root, "proj"))
    open(os.path.join(root, "proj", "__init__.py"), "w").close()
    with open(os.path.join(root, "proj", "settings.py"), "w") as f:
        f.write("SECRET_KEY = 'corpus'\nINSTALLED_APPS = %r\n" % list(APPS)
                + "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', "
                + "'NAME': %r, 'USER': %r, 'HOST': %r, 'PORT': %r}}\n"
                % (db, os.environ.get("PGUSER", "postgres"), os.environ.get("PGHOST", ""),
                   os.environ.get("PGPORT", "5432"))
                + "USE_TZ = True\nDEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'\n")
    with open(os.path.join(root, "manage.py"), "w") as f:
        f.write("import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"
                "from django.core.management import execute_from_command_line\n"
                "execute_from_command_line(sys.argv)\n")
    order = []
    for app in APPS:
        mig = os.path.join(root, app, "migrations")
        os.makedirs(mig)
        open(os.path.join(root, app, "__init__.py"), "w").close()
        open(os.path.join(mig, "__init__.py"), "w").close()
        with open(os.path.join(mig, "0001_initial.py"), "w") as f:
            f.write(initial(app))
        for name, text in later(app):
            with open(os.path.join(mig, name + ".py"), "w") as f:
                f.write(text)
    for app in APPS:
        order.append((app, "0001_initial"))
    for step in range(5):
        for app in APPS:
            order.append((app, later(app)[step][0]))
    return order


def main():
    out_dir = sys.argv[1]
    db = "sg_lint_corpus"
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    subprocess.run(["createdb", db], check=True)
    with tempfile.TemporaryDirectory() as root:
        order = write_project(root, db)

        def manage(*args):
            return subprocess.run([sys.executable, "manage.py", *args], cwd=root, check=True,
                                  capture_output=True, text=True).stdout

        schema, corpus = [], []
        for app, name in order:
            sql = manage("sqlmigrate", app, name)
            block = "-- django: %s.%s\n%s" % (app, name, sql.strip() + "\n")
            (schema if name == "0001_initial" else corpus).append(block)
            manage("migrate", app, name)
    subprocess.run(["dropdb", db], check=True)
    with open(os.path.join(out_dir, "lint_schema.sql"), "w") as f:
        f.write("-- Generated by bench/lint/gen_corpus.py: the 0001 migrations of the six apps.\n")
        f.write("".join(schema))
    with open(os.path.join(out_dir, "lint_corpus_django.sql"), "w") as f:
        f.write("-- Generated by bench/lint/gen_corpus.py: sqlmigrate of the later migrations.\n")
        f.write("".join(corpus))


if __name__ == "__main__":
    main()
