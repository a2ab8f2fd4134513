"""Saved searches: a search in tickets.search's syntax kept under a name, listed in the
sidebar under the views with its live count (Zendesk's personal and shared views).

Services and selectors together, as tickets.search is: each is small and they share the
rules of who sees and who changes a saved search.

- Everyone saves their own; leads and admins may share one with the whole team.
- The owner renames, re-shares or deletes; an admin may too (someone left the team).
- The query is parsed when saved, so the sidebar never holds a search the page refuses."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError, Forbidden, NotFound

from .models import SavedSearch
from .search import search_parse, ticket_search_count

# The sidebar counts each saved search up to this many ("200+"), as it caps the views.
SAVED_SEARCH_COUNT_CAP = 200
# Each person's list stays a sidebar, not a second queue.
SAVED_SEARCHES_PER_OWNER = 30


@dataclass(frozen=True)
class SavedSearchCount:
    saved_search: SavedSearch
    count: int
    more: bool


def saved_search_may_share(*, user: User) -> bool:
    """Leads and admins share searches with the team; agents keep theirs to themselves."""
    return user.role in {User.Role.LEAD, User.Role.ADMIN}


def saved_search_may_change(*, saved_search: SavedSearch, user: User) -> bool:
    """Its owner renames, re-shares or deletes a saved search; an admin may too."""
    return saved_search.owner_id == user.pk or user.role == User.Role.ADMIN


def _clean(*, name: str, query: str) -> tuple[str, str]:
    name, query = name.strip(), query.strip()
    if not name:
        raise DomainError("give the search a name", field="name")
    if len(name) > SavedSearch._meta.get_field("name").max_length:  # type: ignore[operator]
        raise DomainError("a name of at most 80 characters", field="name")
    if not query:
        raise DomainError("there is no search to save", field="query")
    search_parse(text=query)  # raises DomainError (field "q") for a search the page refuses
    return name, query


def _save(saved_search: SavedSearch) -> SavedSearch:
    try:
        with transaction.atomic():
            saved_search.save()
    except IntegrityError:
        raise DomainError(
            f"you already have a saved search named {saved_search.name!r}", field="name"
        ) from None
    return saved_search


def saved_search_create(
    *, owner: User, name: str, query: str, is_shared: bool = False
) -> SavedSearch:
    """Save `query` as `name` for `owner`, shared with the team when `is_shared`.

    Raises DomainError (field "name": empty, too long, taken by the owner; "q": a search the
    parser refuses; too many saved), Forbidden (sharing by an agent)."""
    name, query = _clean(name=name, query=query)
    if is_shared and not saved_search_may_share(user=owner):
        raise Forbidden("only leads and admins share searches with the team")
    if SavedSearch.objects.filter(owner=owner).count() >= SAVED_SEARCHES_PER_OWNER:
        raise DomainError(
            f"you have {SAVED_SEARCHES_PER_OWNER} saved searches: delete one first", field="name"
        )
    return _save(SavedSearch(owner=owner, name=name, query=query, is_shared=is_shared))


def saved_search_update(
    *,
    saved_search: SavedSearch,
    by: User,
    name: str | None = None,
    query: str | None = None,
    is_shared: bool | None = None,
) -> SavedSearch:
    """Rename `saved_search`, change its search or its sharing (None keeps each as it is).

    Raises Forbidden (not the owner nor an admin; sharing by an agent), DomainError as
    `saved_search_create`."""
    if not saved_search_may_change(saved_search=saved_search, user=by):
        raise Forbidden("only its owner renames or changes a saved search")
    new_name, new_query = _clean(
        name=saved_search.name if name is None else name,
        query=saved_search.query if query is None else query,
    )
    if is_shared and not saved_search.is_shared and not saved_search_may_share(user=by):
        raise Forbidden("only leads and admins share searches with the team")
    saved_search.name, saved_search.query = new_name, new_query
    if is_shared is not None:
        saved_search.is_shared = is_shared
    return _save(saved_search)


def saved_search_delete(*, saved_search: SavedSearch, by: User) -> None:
    """Delete `saved_search`. Raises Forbidden (not the owner nor an admin)."""
    if not saved_search_may_change(saved_search=saved_search, user=by):
        raise Forbidden("only its owner deletes a saved search")
    saved_search.delete()


def saved_search_list(*, viewer: User) -> QuerySet[SavedSearch]:
    """The viewer's saved searches and the ones shared with the team, by name."""
    return (
        SavedSearch.objects.filter(Q(owner=viewer) | Q(is_shared=True))
        .select_related("owner")
        .order_by("name", "id")
    )


def saved_search_get(*, saved_search_id: int, viewer: User) -> SavedSearch:
    """One saved search the viewer sees (theirs or shared). Raises NotFound otherwise, so
    the ids of others' private searches give nothing away."""
    found = saved_search_list(viewer=viewer).filter(pk=saved_search_id).first()
    if found is None:
        raise NotFound(f"no saved search {saved_search_id}")
    return found


def saved_search_counts(*, viewer: User) -> list[SavedSearchCount]:
    """`saved_search_list` with each search's live count (capped): one count query each."""
    counted = []
    for saved in saved_search_list(viewer=viewer):
        try:
            count = ticket_search_count(
                query=search_parse(text=saved.query), cap=SAVED_SEARCH_COUNT_CAP
            )
        except DomainError:
            # Saved under an older syntax: shown without a count, the page says why.
            count = 0
        counted.append(
            SavedSearchCount(
                saved, min(count, SAVED_SEARCH_COUNT_CAP), count > SAVED_SEARCH_COUNT_CAP
            )
        )
    return counted
