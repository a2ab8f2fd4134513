"""PlainSelect writes the same <select> as Django's template-rendered Select."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms

from mentiondesk.core.widgets import PlainSelect

CHOICES = [("", "Any"), ("a&b", "A & B"), ("x", "<script>alert(1)</script>"), ("1", "One")]


class Parts(HTMLParser):
    """Tags with their attributes in any order, and texts, whitespace aside."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[object] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append((tag, sorted(attrs, key=str)))

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(f"/{tag}")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(data)


def rendered(widget: type[forms.Select], data: dict[str, str]) -> tuple[str, list[object]]:
    class Filter(forms.Form):
        kind = forms.ChoiceField(choices=CHOICES, required=False, widget=widget)

    form = Filter(data)
    form.is_valid()
    html = str(form["kind"])
    parser = Parts()
    parser.feed(html)
    return html, parser.parts


@pytest.mark.parametrize(
    ("data", "selected"),
    [({}, ""), ({"kind": "a&b"}, "a&b"), ({"kind": "1"}, "1"), ({"kind": "nope"}, None)],
)
def test_plain_select_is_django_select(data: dict[str, str], selected: str | None) -> None:
    html, parts = rendered(PlainSelect, data)
    assert parts == rendered(forms.Select, data)[1]
    assert "<script>" not in html and "&lt;script&gt;" in html
    options = [dict(part[1]) for part in parts if isinstance(part, tuple) and part[0] == "option"]
    assert len(options) == len(CHOICES)
    chosen = [option["value"] for option in options if "selected" in option]
    assert chosen == ([] if selected is None else [selected])
