"""The migration graph alone (kept for projects that call it; the same as
``schema_guard_export --graph``)."""
from django.core.management.base import BaseCommand

from schema_guard_django.graph import migration_graph

from ._output import write_json


class Command(BaseCommand):
    help = "Print the migration graph as JSON for schema_guard.declare_migrations()."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="write to this file instead of stdout")

    def handle(self, *args, **options):
        document, notes = migration_graph()
        for note in notes:
            self.stderr.write("schema_guard: %s" % note)
        write_json(self, document, options.get("output"))
