"""The SLA breach alert moved above sla and the Slack integration (issue 19): a scheduled run
queued before the upgrade names the old module, so its row is pointed at the new one, the
same way 0001 moved the others."""

import importlib

from django.db import migrations

earlier = importlib.import_module("mentiondesk.desk.migrations.0001_moved_task_paths")

MOVED = {
    "mentiondesk.sla.tasks.sla_breaches_notify": "mentiondesk.actions.tasks.sla_breaches_notify",
}


def task_paths_move(apps, schema_editor, moved=MOVED):
    earlier.task_paths_move(apps, schema_editor, moved)


def task_paths_restore(apps, schema_editor):
    task_paths_move(apps, schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_moved_task_paths")]

    operations = [migrations.RunPython(task_paths_move, task_paths_restore, elidable=True)]
