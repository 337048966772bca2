"""The routes document's JSON Schema, from what the product itself accepts: `python -m scripts.routes_schema`.

Written to docs/routes.schema.json (`--write`); a test keeps that file equal to this output, so the
schema cannot drift from the registry's kinds, their target keys, the statuses and the rules the
parser applies. Editors validate a routes document against it (`"$schema"`); the watcher's parser
(domain/routing.py) stays the authority: it also refuses what a schema cannot say (an incident
rule that can never open, a time zone that does not exist).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from run_notifier.destinations import SCHEMAS
from run_notifier.domain.incidents import MAX_AFTER
from run_notifier.domain.report_specs import CHANNEL_MAX, MATCH_KEYS, NAME_MAX
from run_notifier.domain.routing import DOCUMENT_KEYS
from run_notifier.domain.statuses import MATCHABLE

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "routes.schema.json"
ID = "urn:apify-run-notifier:routes-document"


def _strings() -> dict[str, Any]:
    return {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


def _enum_or_list(values: set[str] | frozenset[str]) -> dict[str, Any]:
    enum = {"enum": sorted(values)}
    return {"oneOf": [enum, {"type": "array", "items": enum, "minItems": 1}]}


def _target(kind: str) -> dict[str, Any]:
    schema = SCHEMAS[kind]
    properties: dict[str, Any] = {}
    for key in sorted(schema.keys):
        if key in schema.list_keys:
            properties[key] = {"type": "array", "items": {"type": "string", "minLength": 1}}
        elif key in schema.object_keys:
            properties[key] = {"type": "object"}
        elif key in schema.bool_keys:
            properties[key] = {"type": "boolean"}
        else:
            properties[key] = {"type": "string", "minLength": 1}
    target = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "anyOf": [{"required": [key]} for key in sorted(schema.required_one_of)],
    }
    return {"oneOf": [{"const": False}, {"const": True}, target]}


def _match(keys: set[str] | frozenset[str] | None = None) -> dict[str, Any]:
    properties = {
        "status": _enum_or_list(MATCHABLE),
        "health": _enum_or_list({"OK", "WARN", "UNKNOWN"}),
        "actId": _strings(),
        "actorTaskId": _strings(),
    }
    chosen = {k: v for k, v in properties.items() if keys is None or k in keys}
    return {"type": "object", "properties": chosen, "additionalProperties": False}


def _route() -> dict[str, Any]:
    clock = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
    paging = sorted(kind for kind, schema in SCHEMAS.items() if schema.pages)
    whole = {"type": "integer", "minimum": 1}
    return {
        "type": "object",
        "properties": {
            "match": _match(),
            "incident": {
                "type": "object",
                "properties": {
                    "after": {**whole, "maximum": MAX_AFTER},
                    "on": {
                        "type": "array",
                        "items": {"enum": ["ABORTED", "FAILED", "TIMED-OUT", "WARN"]},
                        "minItems": 1,
                    },
                    "burstAfter": {**whole, "maximum": 1000},
                    "burstWindowSecs": {**whole, "maximum": 3600},
                },
                "additionalProperties": False,
            },
            "quietHours": {
                "type": "object",
                "properties": {
                    "from": clock,
                    "to": clock,
                    "timezone": {"type": "string", "minLength": 1},
                    **{kind: {"type": "boolean"} for kind in paging},
                },
                "required": ["from", "to", "timezone"],
                "additionalProperties": False,
            },
            "expect": {
                "type": "object",
                "properties": {
                    "minItems": {"type": "number", "minimum": 0},
                    "maxItems": {"type": "number", "minimum": 0},
                    "maxDurationSecs": {"type": "number", "minimum": 0},
                    "maxUsd": {"type": "number", "minimum": 0},
                    "anomalies": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
            **{kind: _target(kind) for kind in sorted(SCHEMAS)},
        },
        "additionalProperties": False,
    }


def _report(extra: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": "^[^#]*$"},
            "channel": {"type": "string", "minLength": 1, "maxLength": CHANNEL_MAX},
            "timezone": {"type": "string", "minLength": 1},
            "match": _match(set(MATCH_KEYS)),
            **extra,
        },
        "required": ["channel", *required],
        "additionalProperties": False,
    }


def routes_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a routes document."""
    properties = {
        "$schema": {"type": "string"},
        "routes": {"type": "array", "items": _route()},
        "digests": {
            "type": "array",
            "items": _report(
                {
                    "every": {"enum": ["day", "week"]},
                    "at": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):00$"},
                },
                [],
            ),
        },
        "budgets": {
            "type": "array",
            "items": _report(
                {"monthlyUsd": {"type": "number", "exclusiveMinimum": 0, "maximum": 10**7}}, ["monthlyUsd"]
            ),
        },
    }
    assert set(properties) == DOCUMENT_KEYS
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ID,
        "title": "Apify Run Notifier routes document",
        "description": "Routes per status, Actor and task; incidents, quiet hours, health checks; digests and budgets.",
        "type": "object",
        "properties": properties,
        "required": ["routes"],
        "additionalProperties": False,
    }


def render() -> str:
    """The schema as docs/routes.schema.json holds it."""
    return json.dumps(routes_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT.relative_to(OUTPUT.parents[1])}")
    args = parser.parse_args(argv)
    if args.write:
        OUTPUT.write_text(render())
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
