"""The one line a CI job adds after ``manage.py migrate``:

    python manage.py schema_guard_check --fail-on error

Loads the expected schema from the models (schema_guard.expect) and the
migration graph (schema_guard.declare_migrations) into the database, prints
schema_check() and migration_check(), lists model changes that no migration
makes (what makemigrations --check finds), and exits with status 1 when a
finding is at or above --fail-on.
"""
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from schema_guard_django import database
from schema_guard_django.changes import unmigrated_changes
from schema_guard_django.graph import migration_graph
from schema_guard_django.manifest import model_manifest


class Command(BaseCommand):
    help = ("Check the database against the models and the migrations with "
            "schema_guard; exit 1 on findings at or above --fail-on.")

    def add_arguments(self, parser):
        parser.add_argument("--app", help="only this app's findings")
        parser.add_argument("--json", action="store_true",
                            help="print the findings as one JSON document")
        parser.add_argument("--fail-on", default="error",
                            choices=["error", "warning", "info"],
                            help="lowest severity that fails the check (default error)")
        parser.add_argument("--schema", default="public",
                            help="the schema the tables live in (default public)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError("database %r is not PostgreSQL" % options["database"])
        app = options["app"]
        result = self._run(connection, options["schema"], app)
        rank = database.SEVERITY_RANK[options["fail_on"]]
        failing = [f for group in ("schema", "migrations", "models")
                   for f in result[group]
                   if database.SEVERITY_RANK[f["severity"]] >= rank]
        if options["json"]:
            document = {key: result[key] for key in ("schema", "migrations", "models", "notes")}
            document.update({"app": app, "fail_on": options["fail_on"],
                             "failed": bool(failing)})
            self.stdout.write(json.dumps(document, indent=1))
        else:
            self._print_text(result)
        if failing:
            raise CommandError(
                "%d finding%s at or above %s%s" % (
                    len(failing), "" if len(failing) == 1 else "s",
                    options["fail_on"], " in app %s" % app if app else ""),
                returncode=1)

    def _run(self, connection, schema, app):
        manifest, pending, notes = model_manifest(connection, schema)
        database.print_pending(connection, pending)
        graph, graph_notes = migration_graph()
        models, model_notes = unmigrated_changes()
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if not database.has_schema_guard(cursor):
                raise CommandError("the extension schema_guard is not installed in this "
                                   "database: run CREATE EXTENSION schema_guard; first")
            if app is not None and app not in {t["app"] for t in manifest["tables"]}:
                raise CommandError("no app %r in the models; the apps are: %s" % (
                    app, ", ".join(sorted({t["app"] for t in manifest["tables"]}))))
            database.expect_manifest(cursor, manifest, "django models")
            database.declare_graph(cursor, graph)
            result = {
                "schema": database.findings(cursor, "check", app),
                "migrations": [f for f in database.findings(cursor, "migration_check", "django")
                               if app is None or f["app"] == app],
                "models": [f for f in models if app is None or f["app"] == app],
                "notes": notes + graph_notes + model_notes,
                "schema_report": database.report(
                    cursor, "SELECT pg_catalog.schema_check(%s)", app),
                "migration_report": database.report(
                    cursor, "SELECT pg_catalog.migration_check(%s)", "django"),
            }
        return result

    def _print_text(self, result):
        self.stdout.write(result["schema_report"].rstrip("\n"))
        self.stdout.write("")
        self.stdout.write(result["migration_report"].rstrip("\n"))
        self.stdout.write("")
        if result["models"]:
            self.stdout.write("model changes without a migration:")
            for f in result["models"]:
                self.stdout.write("  [%s] %s\n      fix: %s" % (f["severity"], f["message"], f["fix"]))
        else:
            self.stdout.write("model changes without a migration: none")
        for note in result["notes"]:
            self.stderr.write("schema_guard: %s" % note)
