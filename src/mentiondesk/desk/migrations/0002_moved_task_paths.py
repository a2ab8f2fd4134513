"""Tasks moved by issue 19's second round (the SLA breach alert above sla and Slack; the link
previewer's package renamed): rows queued before the upgrade name the old modules, so each is
pointed at the new one, the same way 0001 moved the others."""

import importlib

from django.db import migrations

earlier = importlib.import_module("mentiondesk.desk.migrations.0001_moved_task_paths")

MOVED = {
    "mentiondesk.sla.tasks.sla_breaches_notify": "mentiondesk.actions.tasks.sla_breaches_notify",
    "mentiondesk.integrations.links.tasks.post_links_expand": (
        "mentiondesk.integrations.previews.tasks.post_links_expand"
    ),
}


def task_paths_move(apps, schema_editor, moved=MOVED):
    earlier.task_paths_move(apps, schema_editor, moved)


def task_paths_restore(apps, schema_editor):
    task_paths_move(apps, schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_moved_task_paths")]

    operations = [migrations.RunPython(task_paths_move, task_paths_restore, elidable=True)]
