from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SchemaGuardConfig(AppConfig):
    name = "schema_guard_django"
    verbose_name = "schema_guard"

    def ready(self):
        from .signals import redeclare_graph

        # Sent once per migrate for this app (it has a models module).
        post_migrate.connect(redeclare_graph, sender=self,
                             dispatch_uid="schema_guard_redeclare_graph")
