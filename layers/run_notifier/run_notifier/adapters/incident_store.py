"""Incidents in the runs table: one item per route and key (`incident#<route>#task:<id>`, a key no
run ID can take), moved by compare-and-set on its version, so that every container applying the
same runs in any order agrees (domain/incidents.py). A transition's event is written into the
item in the same write, as pending, and removed once announced (domain/incident_flow.py)."""

from __future__ import annotations

from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_marks import mark_values, write_mark
from run_notifier.domain.digest import INCIDENT_OPENED, INCIDENT_RESOLVED
from run_notifier.domain.incidents import (
    FinishedRun,
    IncidentEvent,
    IncidentRule,
    IncidentState,
    RunInIncident,
    SeenRun,
    Transition,
    event_for,
    part_of,
    step,
)
from run_notifier.domain.run_summary import RunSummary

#: Writers racing on one incident retry this often; each retry re-reads, so a busy incident
#: converges (a run already applied by the winner is then a duplicate).
MAX_CONFLICTS = 20


class IncidentConflict(Exception):
    """Too many concurrent writers on one incident: the record fails and comes back."""


class DynamoIncidents:
    """`IncidentStore` on the runs table: one item per route and key, moved by compare-and-set, with its pending
    transitions."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def apply(
        self, key: str, run: FinishedRun, rule: IncidentRule, *, route_index: int, summary: RunSummary
    ) -> tuple[Transition, RunInIncident | None, list[IncidentEvent]]:
        """The transition this delivery made (NONE for a repeat), the run's part in its incident (a
        repeat learns it too), and every event still pending."""
        for _ in range(MAX_CONFLICTS):
            item = self._table.get(key) or {}
            state = _state(item.get("incident"))
            pending = dict(item.get("pendingIncidentEvents") or {})
            moved, transition = step(state, run, rule, key)
            if moved == state:
                return Transition.NONE, part_of(state, run.run_id), _events(pending)
            event = event_for(
                moved,
                transition,
                run,
                key=key,
                route_index=route_index,
                act_id=summary.act_id,
                actor_task_id=summary.actor_task_id,
                status_message=summary.status_message,
                actor_name=summary.actor_name,
                rule=rule,
            )
            if event is not None:
                pending[event.event_id] = _dump_event(event)
            names = {"#i": "incident", "#p": "pendingIncidentEvents"}
            values: dict[str, Any] = {":new": _dump_state(moved), ":pending": pending}
            if state.version:
                condition = "#i.#v = :old"
                names["#v"] = "version"
                values[":old"] = state.version
            else:
                condition = "attribute_not_exists(#i)"
            refused = self._table.conditional_update(key, "SET #i = :new, #p = :pending", condition, names, values)
            if refused is None:
                return transition, part_of(moved, run.run_id), _events(pending)
        raise IncidentConflict(f"{key}: {MAX_CONFLICTS} concurrent writers in a row")

    def prepare(self, event: IncidentEvent) -> None:
        """The event's own item, its `generation` the event's ID: the notification claims' condition
        (adapters/notification_claims.py) then holds for it as for a recorded run; and a mark in the
        ledger by day (adapters/ledger_marks.py), so digests count incidents opened. Idempotent."""
        status = INCIDENT_OPENED if event.kind is Transition.OPENED else INCIDENT_RESOLVED
        mark = mark_values(status, event.at, event.act_id, event.actor_task_id, event.actor_name)
        write_mark(self._table, event.event_id, mark, {"generation": event.event_id})

    def open_among(self, keys: list[str]) -> set[str]:
        """Which of these incident items hold an open incident now (one consistent read each)."""
        return {key for key in keys if bool(((self._table.get(key) or {}).get("incident") or {}).get("open"))}

    def done(self, key: str, event_id: str) -> None:
        """Remove the event, and move the version so that a writer holding the old pending map re-reads."""
        self._table.update(
            key,
            "SET #i.#v = #i.#v + :one REMOVE #p.#e",
            {"#p": "pendingIncidentEvents", "#e": event_id, "#i": "incident", "#v": "version"},
            {":one": 1},
        )


def _state(raw: Any) -> IncidentState:
    if not isinstance(raw, dict):
        return IncidentState()
    fields: dict[str, Any] = {name: raw[name] for name in IncidentState._fields if raw.get(name) is not None}
    for name in ("version", "failures", "resolved_failures"):
        if name in fields:
            fields[name] = int(fields[name])
    fields["open"] = bool(fields.get("open", False))
    fields["seen"] = tuple(_seen_run(raw) for raw in fields.get("seen") or () if isinstance(raw, dict))
    return IncidentState(**fields)


def _seen_run(raw: dict[str, Any]) -> SeenRun:
    return SeenRun(
        str(raw["r"]),
        Transition(raw["t"]),
        int(raw.get("f", 0)),
        raw.get("i") or None,
        raw.get("o") or None,
        str(raw.get("s", "")),
        str(raw.get("at", "")),
    )


def _dump_seen(seen: SeenRun) -> dict[str, Any]:
    """Short names: up to SEEN_LIMIT of these live in one item."""
    dumped: dict[str, Any] = {
        "r": seen.run_id,
        "t": seen.transition.value,
        "f": seen.failures,
        "s": seen.status,
        "at": seen.finished_at,
    }
    if seen.incident_id:
        dumped.update(i=seen.incident_id, o=seen.opened_at)
    return dumped


def _dump_state(state: IncidentState) -> dict[str, Any]:
    dumped = {name: value for name, value in state._asdict().items() if value is not None and name != "seen"}
    dumped["seen"] = [_dump_seen(seen) for seen in state.seen]
    return dumped


def _dump_event(event: IncidentEvent) -> dict[str, Any]:
    return {name: value for name, value in event._asdict().items() if value is not None}


def _events(pending: dict[str, Any]) -> list[IncidentEvent]:
    events = []
    for raw in pending.values():
        fields: dict[str, Any] = {name: raw.get(name) for name in IncidentEvent._fields}
        fields["kind"] = Transition(fields["kind"])
        fields["route_index"] = int(fields["route_index"])
        fields["failures"] = int(fields["failures"])
        for name in ("burst_after", "burst_window_secs"):
            fields[name] = int(fields[name]) if fields.get(name) is not None else IncidentEvent._field_defaults[name]
        events.append(IncidentEvent(**fields))
    return sorted(events, key=lambda e: (e.at, e.kind.value))
