"""Pages that exist only in `mentiondesk demo`: the Slack stand-in's channels, where the
desk's escalations, spam reports, expert questions and retweet suggestions land, and the tour
of the handbook's steps. Outside the demo they answer 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mentiondesk.desk.demo_tour import demo_tour_steps
from mentiondesk.desk.demo_world import DemoWorld, demo_slack_channels, demo_world_current


@require_GET
@login_required
def slack(request: HttpRequest) -> HttpResponse:
    world = _world()
    return render(
        request,
        "desk/demo_slack.html",
        {"channels": demo_slack_channels(world=world), "workspace": world.slack.workspace},
    )


@require_GET
@login_required
def tour(request: HttpRequest) -> HttpResponse:
    _world()
    return render(request, "desk/demo_tour.html", {"steps": demo_tour_steps()})


def _world() -> DemoWorld:
    world = demo_world_current()
    if world is None:
        raise Http404("Only `mentiondesk demo` has this page.")
    return world
