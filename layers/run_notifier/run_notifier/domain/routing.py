"""Which destinations hear about which runs.

`NOTIFY_ON` filters by status first. Then the first route whose `match` fits the run may
redirect or silence each kind of destination. A routes document (env `ROUTES_JSON` or the
SSM parameter named by `ROUTES_SSM_PARAMETER`) looks like:

    {"routes": [
      {"match": {"status": ["FAILED", "TIMED-OUT"], "actId": ["moJRLRc85AitArpNN"]},
       "slack": {"webhookUrlSecretArn": "arn:aws:secretsmanager:...:secret:oncall-slack"}},
      {"match": {"actorTaskId": ["KJHSKHausidyaJKHs"]},
       "slack": false,
       "webhook": {"url": "https://jobs.example.com/apify", "secretArn": "arn:...:secret:jobs-whsec"}},
      {"match": {"actId": ["LoaderActor00001"]},
       "slack": {"channel": "C0LOADERS", "mention": ["@here"]}}
    ]}

Per destination kind (the registry in `run_notifier.destinations`): absent = the default destination,
`false` = none for this run, an object = this target instead of the default. A target's values
are non-empty strings, or lists of them for the keys a kind declares (`TargetSchema.list_keys`),
and a kind may check them further (`TargetSchema.check`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from run_notifier.domain.health import Expectation
from run_notifier.domain.incidents import DEFAULT_ON, MAX_AFTER, IncidentRule
from run_notifier.domain.quiet_hours import QuietHours, QuietHoursError, parse_quiet_hours
from run_notifier.domain.statuses import MATCHABLE
from run_notifier.domain.target_schema import TargetSchema

if TYPE_CHECKING:
    from run_notifier.domain.run_summary import RunSummary

_MATCH_KEYS = {"status": "status", "actId": "act_id", "actorTaskId": "actor_task_id", "health": "health_verdict"}
#: A route's `expect` (domain/health.py): its keys, and the largest value each takes.
_EXPECT_LIMITS = {"minItems": 10**9, "maxItems": 10**9, "maxDurationSecs": 30 * 86400, "maxUsd": 10**6}
#: A route's choice for one kind: True (the default target), False (none) or a target of its own.
Choice = dict[str, Any] | bool


#: The keys a routes document may hold at its top ("$schema" names docs/routes.schema.json).
DOCUMENT_KEYS = frozenset({"routes", "digests", "budgets", "$schema"})
#: The values a `match` key may name (the rest are IDs, any string).
_MATCH_VALUES = {"status": MATCHABLE, "health": frozenset({"OK", "WARN", "UNKNOWN"})}
#: What an incident rule's `on` counts, as the run's own status (WARN: a SUCCEEDED run judged so).
_COUNTED_AS = {"FAILED": "FAILED", "TIMED-OUT": "TIMED-OUT", "ABORTED": "ABORTED", "WARN": "SUCCEEDED"}

#: Matched without while a run's verdict is being decided.
HEALTH_ONLY = frozenset({"health"})


class RoutesError(ValueError):
    """The routes document is invalid; the message says where."""


class Route(NamedTuple):
    """One route: its match, a target (or none) per kind, and its incident mode, quiet hours and health checks."""

    match: dict[str, frozenset[str]]
    targets: dict[str, Choice]
    #: Incident mode (domain/incidents.py): `"incident": {"after": N, "on": [...]}`; None: per run only.
    incident: IncidentRule | None = None
    #: Quiet hours (domain/quiet_hours.py): chat held in the window, one summary at its end.
    quiet: QuietHours | None = None
    #: Health checks (domain/health.py): `"expect": {"minItems": 1, ...}`; None: not judged.
    expect: Expectation | None = None

    def matches(self, summary: RunSummary, *, ignore: frozenset[str] = frozenset()) -> bool:
        """True when the run fits every key of the match, but the ``ignore`` keys."""
        for key, allowed in self.match.items():
            if key in ignore:
                continue
            value = getattr(summary, _MATCH_KEYS[key])
            if value not in allowed:
                return False
        return True


class Routes(NamedTuple):
    """The routes document, parsed and checked: its kinds and its routes in order (the first match wins)."""

    kinds: tuple[str, ...]
    routes: tuple[Route, ...] = ()

    def route_for(self, summary: RunSummary) -> tuple[int, Route] | None:
        """The first route whose match fits the run, with its index; None: no route does."""
        for index, route in enumerate(self.routes):
            if route.matches(summary):
                return index, route
        return None

    def expectation_for(
        self, summary: RunSummary, ignore: frozenset[str] = frozenset({"health"})
    ) -> Expectation | None:
        """What the first route with `expect` whose match fits the run expects of it (matched without the
        `ignore` keys: its `health` while the verdict is being decided, also its `status` while it
        runs); None: the run is not judged."""
        for route in self.routes:
            if route.expect is not None and route.matches(summary, ignore=ignore):
                return route.expect
        return None

    def targets_for(self, summary: RunSummary) -> dict[str, Choice]:
        """Per kind: True (default target), False (none) or an override target."""
        chosen: dict[str, Choice] = dict.fromkeys(self.kinds, True)
        found = self.route_for(summary)
        if found is not None:
            chosen.update(found[1].targets)
        return chosen


def parse_routes(text: str | None, schemas: Mapping[str, TargetSchema]) -> Routes:
    """Parse a routes document; ``schemas`` is the registry of destination kinds."""
    kinds = tuple(schemas)
    if not text:
        return Routes(kinds)
    try:
        document = json.loads(text)
    except RecursionError:
        raise RoutesError("routes document is nested too deeply") from None
    except ValueError as error:
        message = f"{error.msg} at position {error.pos}" if isinstance(error, json.JSONDecodeError) else str(error)
        raise RoutesError(f"routes document is not JSON: {message}") from None
    if not isinstance(document, dict) or not isinstance(document.get("routes"), list):
        raise RoutesError('routes document must be an object with a "routes" list')
    unknown = set(document) - DOCUMENT_KEYS
    if unknown:
        raise RoutesError(f"routes document has unknown keys {sorted(unknown)}; it may hold {sorted(DOCUMENT_KEYS)}")
    return Routes(kinds, tuple(_parse_route(i, raw, schemas) for i, raw in enumerate(document["routes"])))


def parse_match(where: str, raw: Any, keys: frozenset[str] = frozenset(_MATCH_KEYS)) -> dict[str, frozenset[str]]:
    """A `match` object: each of ``keys`` to a string or a list of strings."""
    if not isinstance(raw, dict) or set(raw) - keys:
        raise RoutesError(f"{where}.match may only hold {sorted(keys)}")
    match: dict[str, frozenset[str]] = {}
    for key, values in raw.items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RoutesError(f"{where}.match.{key} must be a string or a list of strings")
        known = _MATCH_VALUES.get(key)
        if known is not None and not set(values) <= known:
            raise RoutesError(
                f"{where}.match.{key} has unknown values {sorted(set(values) - known)}; known: {sorted(known)}"
            )
        match[key] = frozenset(values)
    return match


def _parse_route(index: int, raw: Any, schemas: Mapping[str, TargetSchema]) -> Route:
    where = f"routes[{index}]"
    if not isinstance(raw, dict):
        raise RoutesError(f"{where} must be an object")
    unknown = set(raw) - {"match", "incident", "quietHours", "expect", *schemas}
    if unknown:
        raise RoutesError(f"{where} has unknown keys {sorted(unknown)}; destination kinds are {sorted(schemas)}")
    match = parse_match(where, raw.get("match", {}))
    targets: dict[str, Choice] = {}
    for kind, schema in schemas.items():
        if kind not in raw:
            continue
        value = raw[kind]
        if value is False:
            targets[kind] = False
        elif isinstance(value, dict) and set(value) <= schema.keys and set(value) & schema.required_one_of:
            targets[kind] = _checked_target(f"{where}.{kind}", value, schema)
        else:
            raise RoutesError(
                f"{where}.{kind} must be false or an object with keys from {sorted(schema.keys)}"
                f" including one of {sorted(schema.required_one_of)}"
            )
    quiet = None
    if "quietHours" in raw:
        try:
            paging = frozenset(kind for kind, schema in schemas.items() if schema.pages)
            quiet = parse_quiet_hours(raw["quietHours"], f"{where}.quietHours", paging)
        except QuietHoursError as error:
            raise RoutesError(str(error)) from None
    expect = _expectation(where, raw["expect"]) if "expect" in raw else None
    incident = _incident_rule(where, raw.get("incident"))
    if incident is not None and "status" in match:
        counted = {_COUNTED_AS[status] for status in incident.on}
        if not counted & match["status"]:
            raise RoutesError(
                f"{where}.incident can never open: the route matches status {sorted(match['status'])} "
                f"and the rule counts {sorted(incident.on)}"
            )
    return Route(match, targets, incident, quiet, expect)


def _expectation(where: str, raw: Any) -> Expectation:
    if not isinstance(raw, dict) or set(raw) - {*_EXPECT_LIMITS, "anomalies"}:
        raise RoutesError(f"{where}.expect must be an object with keys from {sorted({*_EXPECT_LIMITS, 'anomalies'})}")
    limits: dict[str, float | None] = {}
    for key, most in _EXPECT_LIMITS.items():
        value = raw.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (number and 0 <= value <= most):
            raise RoutesError(f"{where}.expect.{key} must be a number, 0 to {most:g}")
        limits[key] = value
    anomalies = raw.get("anomalies", True)
    if not isinstance(anomalies, bool):
        raise RoutesError(f"{where}.expect.anomalies must be true or false")
    min_items, max_items = limits["minItems"], limits["maxItems"]
    return Expectation(
        min_items=None if min_items is None else int(min_items),
        max_items=None if max_items is None else int(max_items),
        max_duration_secs=limits["maxDurationSecs"],
        max_usd=limits["maxUsd"],
        anomalies=anomalies,
    )


def _incident_rule(where: str, raw: Any) -> IncidentRule | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"after", "on", "burstAfter", "burstWindowSecs"}:
        raise RoutesError(
            f'{where}.incident must be an object with "after" and optionally "on", "burstAfter", "burstWindowSecs"'
        )
    after = raw.get("after", 1)
    if not isinstance(after, int) or isinstance(after, bool) or not 1 <= after <= MAX_AFTER:
        raise RoutesError(f"{where}.incident.after must be a whole number of runs, 1 to {MAX_AFTER}")
    on = raw.get("on", sorted(DEFAULT_ON))
    counted = {"FAILED", "TIMED-OUT", "ABORTED", "WARN"}  # WARN: SUCCEEDED with a health WARN (route `expect`)
    if not isinstance(on, list) or not on or not all(isinstance(s, str) for s in on) or not set(on) <= counted:
        raise RoutesError(f"{where}.incident.on must list statuses from {sorted(counted)}")
    bursts = {"burstAfter": (raw.get("burstAfter", 5), 1000), "burstWindowSecs": (raw.get("burstWindowSecs", 60), 3600)}
    for key, (value, most) in bursts.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
            raise RoutesError(f"{where}.incident.{key} must be a whole number, 1 to {most}")
    return IncidentRule(
        after=after,
        on=frozenset(on),
        burst_after=bursts["burstAfter"][0],
        burst_window_secs=bursts["burstWindowSecs"][0],
    )


def _checked_target(where: str, value: dict[str, Any], schema: TargetSchema) -> dict[str, Any]:
    for key, item in value.items():
        if key in schema.list_keys:
            if not isinstance(item, list) or not all(isinstance(v, str) and v for v in item):
                raise RoutesError(f"{where}.{key} must be a list of non-empty strings")
        elif key in schema.object_keys:
            if not isinstance(item, dict):
                raise RoutesError(f"{where}.{key} must be an object")
        elif key in schema.bool_keys:
            if not isinstance(item, bool):
                raise RoutesError(f"{where}.{key} must be true or false")
        elif not (isinstance(item, str) and item):
            raise RoutesError(f"{where}.{key} must be a non-empty string")
    problem = schema.check(value) if schema.check else None
    if problem:
        raise RoutesError(f"{where}: {problem}")
    return dict(value)
