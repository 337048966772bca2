"""The routes document's published JSON Schema (docs/routes.schema.json): the product's own rules, and every
example the docs give valid under it and under the parser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from run_notifier.destinations import SCHEMAS
from run_notifier.domain.report_specs import parse_report_specs
from run_notifier.domain.routing import parse_routes

from scripts.routes_schema import OUTPUT, render, routes_schema

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = Draft202012Validator(routes_schema())


def _examples() -> list[tuple[str, dict]]:
    """Every JSON block of the README and docs/ that is a whole routes document."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```json\n(.*?)```", page.read_text(), re.DOTALL):
            try:
                document = json.loads(block)
            except ValueError:
                continue  # an illustration with "..." in it
            if isinstance(document, dict) and "routes" in document:
                found.append((page.name, document))
    return found


def test_the_published_schema_is_what_the_product_accepts_today():
    Draft202012Validator.check_schema(routes_schema())
    assert OUTPUT.read_text() == render(), "run `python -m scripts.routes_schema --write`"
    assert set(routes_schema()["properties"]["routes"]["items"]["properties"]) >= set(SCHEMAS)


def test_the_docs_give_examples_to_check():
    assert len(_examples()) >= 5


@pytest.mark.parametrize(("page", "document"), _examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_routes_example_in_the_docs_is_valid_under_the_schema_and_the_parser(page, document):
    assert list(VALIDATOR.iter_errors(document)) == []
    parse_routes(json.dumps(document), SCHEMAS)
    parse_report_specs(json.dumps(document))


@pytest.mark.parametrize(
    "document",
    [
        {"routes": [], "digest": []},
        {"routes": [{"match": {"status": ["FAILD"]}}]},
        {"routes": [{"slack": {"chanel": "C0"}}]},
        {"routes": [{"quietHours": {"from": "22:00", "to": "07:00"}}]},
        {"routes": [], "budgets": [{"name": "b", "channel": "C0", "monthlyUsd": 0}]},
    ],
)
def test_the_typos_the_parser_refuses_the_schema_refuses_too(document):
    assert list(VALIDATOR.iter_errors(document)) != []
