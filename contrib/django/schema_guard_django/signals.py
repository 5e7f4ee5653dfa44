"""Re-declares the migration graph after every ``manage.py migrate``, so the
database never holds a graph older than the migrations applied to it."""
import sys

from django.conf import settings
from django.db import DatabaseError, connections, transaction

from .database import declare_graph, has_schema_guard
from .graph import migration_graph


def redeclare_graph(sender, using="default", verbosity=1, **kwargs):
    """post_migrate handler: declare_migrations() with the project's graph.

    Does nothing where schema_guard is not installed (the test database
    Django makes, another vendor) or when SCHEMA_GUARD_REDECLARE is False.
    A role that may not declare graphs gets a warning, not a failed migrate:
    the migrations are applied already.
    """
    if not getattr(settings, "SCHEMA_GUARD_REDECLARE", True):
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if not has_schema_guard(cursor):
            return
    graph, notes = migration_graph()
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            count = declare_graph(cursor, graph)
    except DatabaseError as error:
        if getattr(getattr(error, "__cause__", None), "pgcode", None) != "42501":
            raise
        sys.stderr.write(
            "schema_guard: the migration graph was not re-declared: %s"
            "Grant the migrating role EXECUTE ON FUNCTION "
            "schema_guard.declare_migrations(jsonb), or set "
            "SCHEMA_GUARD_REDECLARE = False.\n" % error
        )
        return
    if verbosity >= 1:
        sys.stdout.write("schema_guard: migration graph declared (%d migrations)\n" % count)
    for note in notes:
        sys.stderr.write("schema_guard: %s\n" % note)
