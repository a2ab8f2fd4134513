from __future__ import annotations

from django_tasks import task

from mentiondesk.channels.models import Post
from mentiondesk.core import priorities

from . import services


@task(queue_name="default", priority=priorities.WARM)
def post_links_expand(*, post_id: int) -> None:
    services.post_links_expand(post=Post.objects.get(pk=post_id))
