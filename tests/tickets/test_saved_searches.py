"""Saved searches: a search kept under a name, in the sidebar with its live count, for its
owner (and for everyone when a lead shares it); renamed and deleted by its owner."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError, Forbidden, NotFound
from mentiondesk.tickets import saved_searches
from mentiondesk.tickets.models import SavedSearch, Ticket
from tests.tickets.test_search import corpus  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def test_create_checks_the_syntax_the_name_and_who_may_share(advocate: User, lead: User) -> None:
    saved = saved_searches.saved_search_create(
        owner=advocate, name="  Solved lately ", query="status:solved sort:updated"
    )
    assert (saved.name, saved.query, saved.is_shared) == (
        "Solved lately",
        "status:solved sort:updated",
        False,
    )
    with pytest.raises(DomainError, match="unknown search filter 'colour'"):
        saved_searches.saved_search_create(owner=advocate, name="Red", query="colour:red")
    with pytest.raises(DomainError, match="already have a saved search named 'Solved lately'"):
        saved_searches.saved_search_create(owner=advocate, name="Solved lately", query="token")
    with pytest.raises(DomainError, match="give the search a name"):
        saved_searches.saved_search_create(owner=advocate, name=" ", query="token")
    with pytest.raises(Forbidden, match="only leads and admins share"):
        saved_searches.saved_search_create(
            owner=advocate, name="Team", query="token", is_shared=True
        )
    # Another person may use the same name: names are per owner.
    shared = saved_searches.saved_search_create(
        owner=lead, name="Solved lately", query="status:solved", is_shared=True
    )
    assert shared.is_shared


def test_owners_see_theirs_and_everyone_sees_the_shared_ones(
    advocate: User, advocate2: User, lead: User
) -> None:
    mine = saved_searches.saved_search_create(owner=advocate, name="Mine", query="token")
    theirs = saved_searches.saved_search_create(owner=advocate2, name="Theirs", query="token")
    team = saved_searches.saved_search_create(
        owner=lead, name="Team", query="status:new", is_shared=True
    )
    assert list(saved_searches.saved_search_list(viewer=advocate)) == [mine, team]
    assert list(saved_searches.saved_search_list(viewer=lead)) == [team]
    with pytest.raises(NotFound):
        saved_searches.saved_search_get(saved_search_id=theirs.pk, viewer=advocate)
    assert saved_searches.saved_search_get(saved_search_id=team.pk, viewer=advocate2) == team


def test_only_the_owner_or_an_admin_renames_and_deletes(
    advocate: User, advocate2: User, lead: User
) -> None:
    team = saved_searches.saved_search_create(
        owner=lead, name="Team", query="status:new", is_shared=True
    )
    with pytest.raises(Forbidden, match="only its owner"):
        saved_searches.saved_search_update(saved_search=team, by=advocate, name="Mine now")
    with pytest.raises(Forbidden, match="only its owner"):
        saved_searches.saved_search_delete(saved_search=team, by=advocate)
    renamed = saved_searches.saved_search_update(saved_search=team, by=lead, name="New ones")
    assert SavedSearch.objects.get().name == renamed.name == "New ones"
    with pytest.raises(DomainError, match="status:done"):
        saved_searches.saved_search_update(saved_search=team, by=lead, query="status:done")
    mine = saved_searches.saved_search_create(owner=advocate, name="Mine", query="token")
    with pytest.raises(Forbidden, match="only leads and admins share"):
        saved_searches.saved_search_update(saved_search=mine, by=advocate, is_shared=True)
    admin = User.objects.create_user(username="ada", role=User.Role.ADMIN)
    saved_searches.saved_search_delete(saved_search=mine, by=admin)
    saved_searches.saved_search_delete(saved_search=team, by=lead)
    assert not SavedSearch.objects.exists()


def test_counts_are_live(corpus: dict[str, Ticket], advocate: User) -> None:  # noqa: F811
    saved_searches.saved_search_create(owner=advocate, name="Solved", query="status:solved")
    saved_searches.saved_search_create(owner=advocate, name="Tokens", query="token")
    counts = {
        c.saved_search.name: c.count for c in saved_searches.saved_search_counts(viewer=advocate)
    }
    assert counts == {"Solved": 3, "Tokens": 2}
    Ticket.objects.filter(pk=corpus["ssl"].pk).update(status=Ticket.Status.SOLVED)
    counts = {
        c.saved_search.name: c.count for c in saved_searches.saved_search_counts(viewer=advocate)
    }
    assert counts == {"Solved": 4, "Tokens": 2}


# ---- the pages ----


def test_save_from_the_search_page_then_the_sidebar_lists_it_with_its_count(
    corpus: dict[str, Ticket],  # noqa: F811
    client: Client,
    advocate: User,
) -> None:
    client.force_login(advocate)
    page = client.get(reverse("tickets:search"), {"q": "status:solved"}).content.decode()
    assert 'action="/saved-searches"' in page and "Save search" in page
    assert "Share with the team" not in page  # agents keep theirs to themselves
    response = client.post(
        reverse("tickets:saved_search_create"),
        {"name": "Solved", "q": "status:solved"},
        follow=True,
    )
    saved = SavedSearch.objects.get()
    assert response.redirect_chain[-1][0] == f"/search?q=status%3Asolved&saved={saved.pk}"
    page = response.content.decode()
    assert "Saved as “Solved”" in page
    sidebar = page.split('id="saved-searches-label"', 1)[1].split("</ul>", 1)[0]
    assert f"saved={saved.pk}" in sidebar and ">Solved" in sidebar
    assert '<span class="count">3</span>' in sidebar
    assert 'aria-current="page"' in sidebar
    # Rename and delete from the saved search's page.
    client.post(reverse("tickets:saved_search_rename", args=[saved.pk]), {"name": "Done"})
    assert SavedSearch.objects.get().name == "Done"
    client.post(reverse("tickets:saved_search_delete", args=[saved.pk]))
    assert not SavedSearch.objects.exists()
    page = client.get(reverse("tickets:queue")).content.decode()
    assert "saved-searches-label" not in page


def test_others_cannot_change_a_shared_search_nor_see_a_private_one(
    client: Client, advocate: User, advocate2: User, lead: User
) -> None:
    team = saved_searches.saved_search_create(
        owner=lead, name="Team", query="status:new", is_shared=True
    )
    private = saved_searches.saved_search_create(owner=advocate2, name="Private", query="token")
    client.force_login(advocate)
    page = client.get(reverse("tickets:queue")).content.decode()
    assert ">Team" in page and "Private" not in page
    page = client.get(
        reverse("tickets:search"), {"q": "status:new", "saved": team.pk}
    ).content.decode()
    assert "Delete saved search" not in page and "by lee" in page
    response = client.post(reverse("tickets:saved_search_delete", args=[team.pk]), follow=True)
    assert "only its owner deletes" in response.content.decode()
    assert client.post(reverse("tickets:saved_search_delete", args=[private.pk])).status_code == 404
    assert SavedSearch.objects.count() == 2


def test_the_save_form_needs_the_csrf_token(advocate: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(advocate)
    response = client.post(reverse("tickets:saved_search_create"), {"name": "x", "q": "token"})
    assert response.status_code == 403 and not SavedSearch.objects.exists()
