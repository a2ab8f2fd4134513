"""One list of intents (core/intents.py): the models, the policy file, the API, the evaluation
and the shipped triage model all derive from it, and no module writes the list out again. A
new intent added anywhere but `Intent` fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mentiondesk.core.intents import INTENT_CHOICES, INTENTS, Intent
from mentiondesk.desk.api import api
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.evaluation import LABELS
from mentiondesk.triage.model import model_load
from mentiondesk.triage.models import TriageResult

SRC = Path(__file__).resolve().parents[2] / "src" / "mentiondesk"


def test_intents_are_every_value_but_not_triaged_in_order() -> None:
    assert Intent.values[0] == ""
    assert list(INTENTS) == Intent.values[1:]
    assert [v for v, _ in INTENT_CHOICES] == list(INTENTS)


def test_the_models_fields_offer_the_enumeration() -> None:
    assert Ticket._meta.get_field("intent").choices == Intent.choices
    for name in ("intent", "corrected_intent"):
        assert TriageResult._meta.get_field(name).choices == INTENT_CHOICES


def test_the_evaluation_and_the_shipped_model_label_the_same_intents() -> None:
    assert LABELS["intent"] == INTENTS
    # The shipped model is retrained (`make triage-model`) when an intent is added.
    assert sorted(model_load("intent").labels) == sorted(INTENTS)


def test_the_policy_accepts_every_intent_and_names_them_when_refusing_one() -> None:
    listed = ", ".join(f"'{i}'" for i in INTENTS)
    policy = policy_parse(text=f"[rules]\nlike_intents = [{listed}]\n", source="p.toml")
    assert policy.rules.like_intents == INTENTS
    with pytest.raises(PolicyError) as excinfo:
        policy_parse(text="[rules]\nlike_intents = ['joy']\n", source="p.toml")
    assert excinfo.value.message.endswith(f"is not one of {', '.join(INTENTS)}")


def test_the_api_schema_enum_is_the_enumeration() -> None:
    schemas = api.get_openapi_schema(path_prefix="/api/v1/")["components"]["schemas"]
    assert schemas["IntentIn"]["properties"]["intent"] == {"$ref": "#/components/schemas/Intent"}
    assert schemas["Intent"]["enum"] == Intent.values


def _named(node: ast.AST) -> set[object]:
    """The constants a literal lists, or that a class body assigns (`X = "value", "Label"`)."""
    if isinstance(node, ast.Subscript):
        return _named(node.slice)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {e.value for e in node.elts if isinstance(e, ast.Constant)}
    if isinstance(node, ast.ClassDef):
        values = [s.value for s in node.body if isinstance(s, ast.Assign)]
        firsts = [v.elts[0] if isinstance(v, ast.Tuple) and v.elts else v for v in values]
        return {v.value for v in firsts if isinstance(v, ast.Constant)}
    return set()


def _written_out(tree: ast.AST) -> list[int]:
    """Lines of literals (tuples, lists, sets, Literal[...]) or classes (choices) that name
    three or more intents."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if hasattr(node, "lineno") and len(_named(node) & set(INTENTS)) >= 3
    ]


def test_no_module_writes_the_list_out_again() -> None:
    home = SRC / "core" / "intents.py"
    copies = {
        str(path.relative_to(SRC)): lines
        for path in SRC.rglob("*.py")
        if path != home and "migrations" not in path.parts
        if (lines := _written_out(ast.parse(path.read_text(), str(path))))
    }
    assert copies == {}, "derive these from mentiondesk.core.intents"
    assert _written_out(ast.parse(home.read_text())), "the scan no longer sees the list"
