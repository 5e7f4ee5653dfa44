"""Model changes that no migration holds: what ``makemigrations --check``
would find, as schema_guard findings."""
from django.apps import apps
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState


def unmigrated_changes():
    """Findings (kind ``missing_migration``) and notes on what was not checked."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    conflicts = loader.detect_conflicts()
    if conflicts:
        return [], [
            "model changes were not compared with the migrations: apps %s have "
            "conflicting leaf migrations (makemigrations refuses them too)"
            % ", ".join(sorted(conflicts))
        ]
    autodetector = MigrationAutodetector(
        loader.project_state(),
        ProjectState.from_apps(apps),
        NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True),
    )
    found = []
    for app_label, migrations in sorted(autodetector.changes(graph=loader.graph).items()):
        described = [op.describe() for m in migrations for op in m.operations]
        found.append({
            "severity": "error",
            "kind": "missing_migration",
            "app": app_label,
            "object": app_label,
            "message": "the models of app %s have changes no migration makes: %s"
                       % (app_label, "; ".join(described)),
            "expected": None,
            "actual": None,
            "fix": "python manage.py makemigrations %s" % app_label,
        })
    return found, []
