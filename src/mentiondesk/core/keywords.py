"""Keywords from a post, for searching the issue tracker, the forum and the helpdesk.

The seed: "pull out keywords that best describe the user's problem. Try to keep these to short
phrases to avoid limiting your Zendesk search." GitLab's issue search, Discourse and Zendesk
all require every word of a query to match, so a search starts with the three most telling
words and widens to two, then one (`keyword_queries`); the results are ranked afterwards
against all the keywords (`keyword_overlap`)."""

from __future__ import annotations

import re

# Handles, links (with or without a scheme) and hashtags say nothing about the problem.
_MENTION = re.compile(r"(?<![\w@])@(\w{1,50})")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_DOMAIN = re.compile(
    r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|dev|app|co|ai|me|ly|gl|gg|info|page"
    r"|cloud|tech|site|xyz|eu|de|uk|fr|es|jp)\b(?:/\S*)?",
    re.IGNORECASE,
)
_HASHTAG = re.compile(r"(?<!\w)#\w+")
# Words, keeping inner hyphens and dots ("self-managed", ".gitlab-ci" stays "gitlab-ci").
_WORD = re.compile(r"[^\W_](?:[\w]|[-'](?=\w))*")
MIN_LENGTH = 3
MAX_KEYWORDS = 8

# A word list reads better as text than as 230 quoted strings.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any anyone anything are aren't around
    as at be because been before being below between both but by can can't cannot could couldn't
    did didn't do does doesn't doing don't down during each else even ever every few for from
    further get gets getting got had hadn't has hasn't have haven't having he her here hers him
    his how i i'm i've if in into is isn't it it's its itself just know let's like made make me
    more most much must my myself need needs no nor not now of off on once only or other our
    ours out over own really same see seems she should shouldn't since so some someone something
    still such than that that's the their theirs them then there there's these they they're this
    those though through to today too under until up upon us very via was wasn't way we we're
    we've were weren't what what's when where which while who whom why will with won't would
    wouldn't yet you you're your yours yourself hey hi hello guys folks team please pls plz
    thanks thank thx help helps anybody somebody anymore already lately yesterday tonight
    morning afternoon evening minutes hours days week weeks time times issue issues problem
    problems question questions bug bugs keeps kept going trying tried try want wanted wants
    able unable lot lots one two three new old good great bad happen happens happened happening
    another without within thing things stuff work works working went wrong
    """.split()  # noqa: SIM905
)


def keywords_extract(text: str, *, limit: int = MAX_KEYWORDS) -> list[str]:
    """The post's telling words, lowercased, without repeats, in the order they appear; past
    `limit`, the most telling ones (see keyword_specificity) are kept.

    Dropped: @mentions (and the mentioned names as plain words: "@Driftwood … on driftwood"),
    links and bare domains, hashtags, stop words, words under three characters, and numbers
    other than three-digit status codes ("401", "502" stay; "5000", "17" go)."""
    text = text.replace("\u2019", "'")
    mentioned = {m.lower() for m in _MENTION.findall(text)}
    for pattern in (_URL, _MENTION, _DOMAIN, _HASHTAG):
        text = pattern.sub(" ", text)
    keywords: dict[str, None] = {}
    for raw in _WORD.findall(text.lower()):
        word = raw.removesuffix("'s").strip("-'")
        if len(word) < MIN_LENGTH or word in STOP_WORDS or word in mentioned:
            continue
        if word.isdigit() and not (len(word) == 3 and 100 <= int(word) <= 599):
            continue
        keywords.setdefault(word, None)
    words = list(keywords)
    if len(words) > limit:
        kept = set(sorted(words, key=keyword_specificity, reverse=True)[:limit])
        words = [w for w in words if w in kept]
    return words


def keyword_specificity(word: str) -> int:
    """A rough guess at how telling a word is: status codes and words with digits ("401",
    "arm64") most, long words next."""
    if any(c.isdigit() for c in word):
        return 3
    return 2 if len(word) >= 7 else 1


def keyword_queries(keywords: list[str], *, widest: int = 3) -> list[str]:
    """Queries from narrow to wide: the `widest` most telling keywords together, then the two
    most telling, then each of the `widest` on its own (one unlucky word must not sink the
    search). Empty when there are no keywords."""
    ranked = sorted(keywords, key=keyword_specificity, reverse=True)[:widest]  # stable
    queries = [" ".join(ranked[:width]) for width in range(len(ranked), 1, -1)] + ranked
    return list(dict.fromkeys(queries))


def keyword_overlap(keywords: list[str], *, title: str, body: str = "") -> float:
    """How much of `keywords` a result covers, 0 to 1: a keyword in the title counts twice as
    much as one only in the body. Words match at their start, so "token" finds "tokens"."""
    if not keywords:
        return 0.0
    title, body = title.lower(), body.lower()
    points = 0
    for word in keywords:
        pattern = re.compile(rf"(?<!\w){re.escape(word)}")
        if pattern.search(title):
            points += 2
        elif pattern.search(body):
            points += 1
    return points / (2 * len(keywords))
