"""The demo's tour (issue 20, item 1): every step of the handbook the desk was built from
(shared/seed/twitter-response-workflow.md), each with a place in the demo to try it, usually
the ticket of a scripted mention that calls for it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from mentiondesk.tickets.models import Ticket


@dataclass(frozen=True)
class TourStep:
    """One handbook step: what it says, what to do here, and where. `requester` names the
    scripted requester whose (first) ticket shows it; `page` a desk page instead."""

    title: str
    handbook: str
    try_it: str
    requester: str = ""
    page: str = ""


TOUR = (
    TourStep(
        "Handles",
        "Respond to mentions and questions from the main handle in the desk; the campaign "
        "handle answers from its stream.",
        "The Stream shows @MoveToDriftwood's mentions, answered there; an answer solves its "
        "conversation, so it never waits in the queue.",
        page="replies:stream",
    ),
    TourStep(
        "Play mode, oldest first",
        "Use Play mode in the Twitter view. The default Twitter view will sort tickets by "
        "created date (ascending).",
        "Open the Twitter view and press Play (or n): the oldest ticket comes first.",
        page="tickets:queue",
    ),
    TourStep(
        "Don't skip, assign to yourself",
        "Not skip any tickets. Assign the ticket to yourself or ask in the appropriate chat "
        "channel if you don't know how to answer it. Not cross assign tickets.",
        "Take a ticket out of order and the desk asks why; Hand back releases it with a reason.",
        requester="ana_codes",
    ),
    TourStep(
        "Short links",
        "Tweets use short links which require you to visit that link to make sure you "
        "understand the context.",
        "The post shows where its t.co link leads before you visit it.",
        requester="marta_dev",
    ),
    TourStep(
        "Hosted or self-managed?",
        "Clarify if the request refers to the hosted service or an externally hosted instance.",
        "Ask in your reply; Ask an expert… offers the hosted and the self-managed experts.",
        requester="tomasz_w",
    ),
    TourStep(
        "Reports of spam",
        "Post in the #abuse Slack channel with a link to the issue board and the timing of the "
        "spam report. Respond to the user and thank them.",
        "Report spam… posts to #abuse (see the Slack page) and drafts the thank-you.",
        requester="bea_sec",
    ),
    TourStep(
        "Downtime",
        "Check the status page. If you find anything related, follow up with the user "
        "forwarding that link and asking if they are still experiencing issues.",
        "The evidence card lists the open incidents; they resolve as the script plays.",
        requester="priya_sre",
    ),
    TourStep(
        "Bug reports",
        "Search for a related issue the tweeter can add to, and tweet back a link to it.",
        "The evidence card finds the issue; the drafted reply links it.",
        requester="marta_dev",
    ),
    TourStep(
        "Feature requests",
        "If no related issue exists, guide them to the issues page to create a new one.",
        "Label it a feature request if triage only suggests something else; the drafts "
        "offer the related issue or the new-issue page.",
        requester="jpark",
    ),
    TourStep(
        "Support questions: solved tickets",
        "Search the support helpdesk for solved tickets with the keywords, newest first.",
        "The evidence card's Help center lists solved tickets like this one.",
        requester="tomasz_w",
    ),
    TourStep(
        "Directing users to the forum",
        "Find a related question in the forum and share a direct link asking for input.",
        "The evidence card's Forum lists topics with accepted answers first.",
        requester="lena_ops",
    ),
    TourStep(
        "Involving experts",
        "Related experts can be found in #support_gitlab-com, #support_self-managed and "
        "#support_managers in Slack.",
        "Ask an expert… posts the ticket to the experts' channel; you keep the ticket.",
        requester="lena_ops",
    ),
    TourStep(
        "Likes",
        "Use Likes for promoting positive feedback about our product. Avoid using it for "
        "anything else.",
        "Like the post from its actions on the ticket; the activity records who liked it.",
        requester="nico_rs",
    ),
    TourStep(
        "Retweeting",
        "Advocates shouldn't retweet. If you see something that should be retweeted, paste "
        "it in the #social_media Slack channel for the social team to review.",
        "Suggest for retweet posts it to #social_media.",
        requester="nico_rs",
    ),
    TourStep(
        "Direct messages",
        "Only when the user needs to communicate with us privately (e.g. to give a mailing "
        "address), and only after we write first.",
        "Direct message… on a ticket writes first; the answer joins the ticket, kept private.",
        requester="alex_j",
    ),
    TourStep(
        "The status handle",
        "Only the infrastructure team posts availability updates from the status account.",
        "Sign in as ivan to post a status update and answer the reports with it.",
        page="replies:status",
    ),
    TourStep(
        "Follow-ups in the conversation",
        "A follow-up from the user is answered in the thread, not as a reply to their first tweet.",
        "Replies answer the latest post; follow-ups join the same ticket.",
        requester="ana_codes",
    ),
)


@dataclass(frozen=True)
class TourStepShown:
    step: TourStep
    url: str  # "" while the scripted mention has not arrived yet


def demo_tour_steps() -> list[TourStepShown]:
    """TOUR with a link for each step: the requester's first ticket, or the named page.
    One query."""
    first: dict[str, int] = {}
    for ticket_id, username in (
        Ticket.objects.filter(requester_username__in={s.requester for s in TOUR if s.requester})
        .order_by("created_at", "pk")
        .values_list("pk", "requester_username")
    ):
        first.setdefault(username, ticket_id)
    shown = []
    for step in TOUR:
        if step.page:
            url = reverse(step.page)
        elif step.requester in first:
            url = reverse("tickets:detail", args=[first[step.requester]])
        else:
            url = ""
        shown.append(TourStepShown(step=step, url=url))
    return shown
