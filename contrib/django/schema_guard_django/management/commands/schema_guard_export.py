"""Export the expected schema from the models and the migration graph.

    python manage.py schema_guard_export --manifest schema.json --graph migrations.json

The manifest ("schema_guard/1") is for schema_guard.expect(), the graph
("schema_guard.migrations/1") for schema_guard.declare_migrations(). Neither
needs a database. Expressions PostgreSQL stores in its own words
(CheckConstraint bodies, index conditions and expressions, db_default) are
printed by the database when it can be reached, so they compare exactly;
with --offline, or when it cannot be reached, they keep Django's spelling
and the command says which ones.
"""
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from schema_guard_django.database import print_pending
from schema_guard_django.graph import migration_graph
from schema_guard_django.manifest import model_manifest

from ._output import write_json


class Command(BaseCommand):
    help = ("Write the expected schema from the models (for schema_guard.expect) "
            "and the migration graph (for schema_guard.declare_migrations).")

    def add_arguments(self, parser):
        parser.add_argument("--manifest", metavar="PATH",
                            help="write the manifest here ('-' for stdout)")
        parser.add_argument("--graph", metavar="PATH",
                            help="write the migration graph here ('-' for stdout)")
        parser.add_argument("--schema", default="public",
                            help="the schema the tables live in (default public)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="the database that prints expressions (default 'default')")
        parser.add_argument("--offline", action="store_true",
                            help="never connect; expressions keep Django's spelling")

    def handle(self, *args, **options):
        if not options["manifest"] and not options["graph"]:
            raise CommandError("say where to write: --manifest PATH and/or --graph PATH "
                               "('-' writes to stdout)")
        if options["manifest"] == "-" and options["graph"] == "-":
            raise CommandError("only one of --manifest and --graph can go to stdout")
        if options["manifest"]:
            self._manifest(options)
        if options["graph"]:
            document, notes = migration_graph()
            for note in notes:
                self.stderr.write("schema_guard: graph: %s" % note)
            write_json(self, document, options["graph"])

    def _manifest(self, options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError("database %r is not PostgreSQL" % options["database"])
        document, pending, notes = model_manifest(connection, options["schema"])
        for note in notes:
            self.stderr.write("schema_guard: manifest: %s" % note)
        if pending and not options["offline"]:
            try:
                print_pending(connection, pending)
                pending = []
            except DatabaseError as error:
                self.stderr.write("schema_guard: manifest: the database could not print "
                                  "expressions (%s)" % str(error).strip())
        if pending:
            self.stderr.write(
                "schema_guard: manifest: %d expressions keep Django's spelling and will "
                "not compare equal until exported with a database: %s"
                % (len(pending), ", ".join(p.describe() for p in pending)))
        write_json(self, document, options["manifest"])
