"""Tasks queued before the move to one direction of imports (issue 19) name the modules their
functions lived in then; the worker imports a task by that path, so each waiting row is pointed
at the function's new home instead of failing after an upgrade."""

from django.db import migrations

MOVED = {
    "mentiondesk.channels.tasks.mentions_poll_all": "mentiondesk.intake.tasks.mentions_poll_all",
    "mentiondesk.channels.tasks.posts_enrich": "mentiondesk.intake.enrich.posts_enrich_task",
    "mentiondesk.core.tasks.task_results_lost_fail": (
        "mentiondesk.desk.lost.task_results_lost_fail_task"
    ),
    "mentiondesk.integrations.slack.tasks.slack_message_deliver": (
        "mentiondesk.integrations.slack.services.slack_message_deliver_task"
    ),
    "mentiondesk.replies.tasks.reply_deliver": (
        "mentiondesk.replies.services.outbox.reply_deliver_task"
    ),
    "mentiondesk.replies.tasks.post_action_run": (
        "mentiondesk.replies.services.actions.post_action_run_task"
    ),
    "mentiondesk.sla.tasks.tickets_sla_refresh": "mentiondesk.sla.services.tickets_sla_refresh_task",
    "mentiondesk.tickets.tasks.ticket_evidence_warm": (
        "mentiondesk.replies.tasks.ticket_evidence_warm"
    ),
    "mentiondesk.webhooks.tasks.webhook_events_process": (
        "mentiondesk.intake.webhooks.services.webhook_events_process_task"
    ),
}


def task_paths_move(apps, schema_editor, moved=MOVED):
    task_result = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in moved.items():
        task_result.objects.filter(task_path=old).update(task_path=new)


def task_paths_restore(apps, schema_editor):
    task_paths_move(apps, schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [("django_tasks_database", "0021_conditional_partial_index_ordering")]

    operations = [migrations.RunPython(task_paths_move, task_paths_restore, elidable=True)]
