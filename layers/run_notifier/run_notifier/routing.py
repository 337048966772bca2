"""Which destinations hear about which runs.

`NOTIFY_ON` filters by status first. Then the first route whose `match` fits the run may
redirect or silence each kind of destination. A routes document (env `ROUTES_JSON` or the
SSM parameter named by `ROUTES_SSM_PARAMETER`) looks like:

    {"routes": [
      {"match": {"status": ["FAILED", "TIMED-OUT"], "actId": ["moJRLRc85AitArpNN"]},
       "slack": {"webhookUrlSecretArn": "arn:aws:secretsmanager:...:secret:oncall-slack"}},
      {"match": {"actorTaskId": ["KJHSKHausidyaJKHs"]},
       "slack": false,
       "webhook": {"url": "https://jobs.example.com/apify", "secretArn": "arn:...:secret:jobs-whsec"}}
    ]}

Per kind (`slack`, `webhook`, `eventbridge`): absent = the default destination,
`false` = none for this run, an object = this target instead of the default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from run_notifier.run_summary import RunSummary

KINDS = ("slack", "webhook", "eventbridge")
_MATCH_KEYS = {"status": "status", "actId": "act_id", "actorTaskId": "actor_task_id"}
_REQUIRED_ONE_OF = {
    "slack": {"webhookUrl", "webhookUrlSecretArn"},
    "webhook": {"url"},
    "eventbridge": {"eventBusName"},
}
_TARGET_KEYS = {
    "slack": {"webhookUrl", "webhookUrlSecretArn"},
    "webhook": {"url", "secretArn", "secret"},
    "eventbridge": {"eventBusName"},
}


class RoutesError(ValueError):
    """The routes document is invalid; the message says where."""


@dataclass(frozen=True)
class Route:
    match: dict[str, frozenset[str]]
    targets: dict[str, dict[str, str] | bool] = field(default_factory=dict)

    def matches(self, summary: RunSummary) -> bool:
        for key, allowed in self.match.items():
            value = getattr(summary, _MATCH_KEYS[key])
            if value not in allowed:
                return False
        return True


@dataclass(frozen=True)
class Routes:
    routes: tuple[Route, ...] = ()

    def targets_for(self, summary: RunSummary) -> dict[str, dict[str, str] | bool]:
        """Per kind: True (default target), False (none) or an override target."""
        chosen: dict[str, dict[str, str] | bool] = dict.fromkeys(KINDS, True)
        for route in self.routes:
            if route.matches(summary):
                chosen.update(route.targets)
                break
        return chosen


def parse_routes(text: str | None) -> Routes:
    if not text:
        return Routes()
    try:
        document = json.loads(text)
    except ValueError as error:
        raise RoutesError(f"routes document is not JSON: {error.msg} at position {error.pos}") from None
    if not isinstance(document, dict) or not isinstance(document.get("routes"), list):
        raise RoutesError('routes document must be an object with a "routes" list')
    return Routes(tuple(_parse_route(i, raw) for i, raw in enumerate(document["routes"])))


def _parse_route(index: int, raw: Any) -> Route:
    where = f"routes[{index}]"
    if not isinstance(raw, dict):
        raise RoutesError(f"{where} must be an object")
    unknown = set(raw) - {"match", *KINDS}
    if unknown:
        raise RoutesError(f"{where} has unknown keys {sorted(unknown)}")
    match_raw = raw.get("match", {})
    if not isinstance(match_raw, dict) or set(match_raw) - set(_MATCH_KEYS):
        raise RoutesError(f"{where}.match may only hold {sorted(_MATCH_KEYS)}")
    match: dict[str, frozenset[str]] = {}
    for key, values in match_raw.items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RoutesError(f"{where}.match.{key} must be a string or a list of strings")
        match[key] = frozenset(values)
    targets: dict[str, dict[str, str] | bool] = {}
    for kind in KINDS:
        if kind not in raw:
            continue
        value = raw[kind]
        if value is False:
            targets[kind] = False
        elif (
            isinstance(value, dict)
            and set(value) <= _TARGET_KEYS[kind]
            and set(value) & _REQUIRED_ONE_OF[kind]
            and all(isinstance(v, str) and v for v in value.values())
        ):
            targets[kind] = dict(value)
        else:
            raise RoutesError(
                f"{where}.{kind} must be false or an object with keys from {sorted(_TARGET_KEYS[kind])}"
                f" including one of {sorted(_REQUIRED_ONE_OF[kind])}"
            )
    return Route(match, targets)
