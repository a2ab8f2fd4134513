from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from .connectors import network_facts


class Network(models.TextChoices):
    X = "x", "X"
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"


# Room for any network's ids: X's are 19 digits, Mastodon's 18, but a Bluesky post is named by
# its at:// URI (did:plc:<24>/app.bsky.feed.post/<13>: about 70 characters; did:web longer).
REMOTE_ID_LENGTH = 300
# A Mastodon account from another instance is `user@domain`; a Bluesky handle is a domain name
# (up to 253 characters).
USERNAME_LENGTH = 300


class Handle(models.Model):
    """One of our accounts on a network. Its token is either stored encrypted
    (HandleCredential) or read from the environment variable `credentials_env` names."""

    class Role(models.TextChoices):
        MAIN = "main", "Main"
        STATUS = "status", "Status"
        CAMPAIGN = "campaign", "Campaign"

    class RespondFrom(models.TextChoices):
        DESK = "desk", "Desk"
        STREAM = "stream", "Stream"

    network = models.CharField(max_length=20, choices=Network.choices, default=Network.X)
    username = models.CharField(max_length=USERNAME_LENGTH)
    remote_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MAIN)
    respond_from = models.CharField(
        max_length=10, choices=RespondFrom.choices, default=RespondFrom.DESK
    )
    auto_ticket = models.BooleanField(default=True)
    credentials_env = models.CharField(max_length=100, blank=True)
    # Where the handle's network answers: its Mastodon instance or its Bluesky service (PDS or
    # entryway), from the policy; blank for X, whose API is MENTIONDESK_X_API_URL for all.
    base_url = models.CharField(max_length=200, blank=True)
    # The longest post the handle's server takes, as it last said (a Mastodon instance's
    # max_characters), learnt by the poll (`handle_text_limit_learn`) so the composer and
    # reply_create, which never call the network, count against it. None: the network's
    # default (`NetworkFacts.text_limit`). Read it through `selectors.handle_text_limit` only,
    # the one place that applies that fallback.
    text_limit = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Ingest checkpoint: the newest mention id stored. Written in the same transaction as the
    # posts it covers, so a crash re-reads at most one page and never skips one.
    since_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    # Checkpoint of our own timeline: replies sent from outside the desk (the X app) that
    # mention nobody we watch still attach to their tickets.
    own_since_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # A pass cut short (a rate limit, a crash) resumes here instead of starting again from the
    # newest page: the pass's newest id (the checkpoint once it ends) and its next page.
    resume_newest_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    resume_token = models.CharField(max_length=200, blank=True)
    # The same for the read-back of our own timeline (see intake.ingest.handle_poll).
    own_resume_newest_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    own_resume_token = models.CharField(max_length=200, blank=True)
    # The same for the read of direct messages (intake.dms): the newest DM event read, and
    # where a read cut short goes on.
    dm_since_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    dm_resume_newest_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    dm_resume_token = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "network", Lower("username"), name="handle_unique_username_per_network"
            ),
        ]
        ordering = ["network", "username"]

    def __str__(self) -> str:
        return f"@{self.username}"


class HandleCredential(models.Model):
    """A handle's OAuth 2.0 user credentials, stored because X's access tokens last two hours
    and come with a single-use refresh token the desk must keep up to date itself.

    `secret` is a Fernet token (channels.credentials.crypto) of the JSON
    {"access_token", "refresh_token"}: no plaintext token is ever written. The rest is what
    `credentials list` shows without the key."""

    handle = models.OneToOneField(Handle, on_delete=models.CASCADE, related_name="credential")
    secret = models.TextField()
    expires_at = models.DateTimeField(null=True, blank=True)
    has_refresh_token = models.BooleanField(default=False)
    scope = models.CharField(max_length=500, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"credentials of {self.handle}"


# Timeline order. X gives times to the second, so two posts often share one; their snowflake
# ids (same length within a conversation) break the tie in the order they were written.
TIMELINE = ("created_at", "remote_id")
TIMELINE_NEWEST_FIRST = ("-created_at", "-remote_id")


class Post(models.Model):
    """One post on a network, ours (outbound) or theirs (inbound), with its raw payload."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    network = models.CharField(max_length=20, choices=Network.choices, default=Network.X)
    remote_id = models.CharField(max_length=REMOTE_ID_LENGTH)
    handle = models.ForeignKey(
        Handle, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    author_remote_id = models.CharField(max_length=REMOTE_ID_LENGTH)
    author_username = models.CharField(max_length=USERNAME_LENGTH)
    text = models.TextField()
    created_at = models.DateTimeField()
    conversation_id = models.CharField(max_length=REMOTE_ID_LENGTH)
    in_reply_to_remote_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    mentions = models.JSONField(default=list, blank=True)
    urls = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "remote_id"], name="post_unique_remote_id_per_network"
            ),
        ]
        indexes = [
            models.Index(fields=["network", "conversation_id", "created_at"]),
            models.Index(fields=["ticket", "created_at"]),
        ]
        ordering = list(TIMELINE)

    def __str__(self) -> str:
        return f"{self.direction} {self.remote_id} @{self.author_username}"

    @property
    def url(self) -> str:
        """The post's page on its network (a Mastodon status's own `url`, as its instance
        gave it)."""
        return network_facts(self.network).post_url(self.remote_id, self.author_username, self.raw)

    @property
    def author_url(self) -> str:
        """The author's profile: a Mastodon status names its account's page (`account.url`)."""
        account = self.raw.get("account") if isinstance(self.raw, dict) else None
        if isinstance(account, dict) and isinstance(account.get("url"), str):
            return str(account["url"])
        return network_facts(self.network).profile_url(self.author_username, "")

    @property
    def network_label(self) -> str:
        return network_facts(self.network).label


class DirectMessage(models.Model):
    """A direct message from a ticket's requester, answering one the desk sent first (seed:
    DMs only after we write first). Kept apart from Post on purpose: DM text is private, so it
    never reaches what reads public posts (search, reports, triage, link previews, the API's
    conversation, a reply's threading); only the ticket screen shows it."""

    network = models.CharField(max_length=20, choices=Network.choices, default=Network.X)
    remote_id = models.CharField(max_length=40)  # the DM event id
    handle = models.ForeignKey(
        Handle, null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_messages"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="direct_messages",
    )
    conversation_id = models.CharField(max_length=60)  # "<low id>-<high id>" (API-FACTS §4)
    sender_remote_id = models.CharField(max_length=40)
    sender_username = models.CharField(max_length=USERNAME_LENGTH)
    text = models.TextField()
    created_at = models.DateTimeField()
    raw = models.JSONField(default=dict, blank=True)
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "remote_id"], name="dm_unique_remote_id_per_network"
            ),
        ]
        indexes = [models.Index(fields=["ticket", "created_at"])]
        ordering = ["created_at", "remote_id"]

    def __str__(self) -> str:
        return f"dm {self.remote_id} @{self.sender_username}"


class IngestProblem(models.Model):
    """An item or page the connector could not use. The raw payload is kept for later."""

    handle = models.ForeignKey(
        Handle, null=True, blank=True, on_delete=models.SET_NULL, related_name="problems"
    )
    endpoint = models.CharField(max_length=200)
    reason = models.TextField()
    raw = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.reason[:60]}"


class RateLimitWindow(models.Model):
    """An X window announced as spent (a 429, or `remaining` 0), shared by every process: a
    second worker, or one restarted, must not call before the reset either. `key` is a digest
    of the base URL, the token's digest and the endpoint; the token itself is never kept."""

    key = models.CharField(max_length=64, unique=True)
    endpoint = models.CharField(max_length=100)
    reset_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.endpoint} spent until {self.reset_at:%H:%M:%S}"
