from __future__ import annotations

from django.db import models


class UsageKind(models.TextChoices):
    """What X bills (a property of the network, so it lives with the channels; costs prices
    and meters it), one price each in the policy's [x_billing.prices]. Reads are billed per
    resource returned, writes per request (https://docs.x.com/x-api/getting-started/pricing)."""

    POST_READ = "post_read", "Post read"
    USER_READ = "user_read", "User read"
    POST_CREATE = "post_create", "Post create"
    POST_CREATE_WITH_URL = "post_create_with_url", "Post create with a URL"
    DM_CREATE = "dm_create", "Direct message create"
    LIKE = "like", "Like"
    POST_DELETE = "post_delete", "Post delete"
