"""Marks beside the runs in the `RunsByDay` index: an incident opened or resolved, a run's chat alert
muted or held by quiet hours, so that a digest reads them with its period's runs in the same queries.

A mark is an item of its own (an incident event's item, `mark#muted#<runId>`, `mark#held#<runId>`)
that carries the index's keys (`finishDay`, `finishedAt`: when it happened) and only attributes the
index already projects: `status` says what it is (no run ever has these statuses), `actId`,
`actorTaskId` and `actorName` say whose. The index's projection is not changed for them: DynamoDB
cannot change a deployed index's projection in place, and CloudFormation would refuse the update.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.digest import MARK_STATUSES
from run_notifier.domain.isotime import parse_iso

#: A mark outlives any digest period and the report's longest look back.
MARK_DAYS = 400
MUTED_PREFIX = "mark#muted#"
HELD_PREFIX = "mark#held#"


def run_of_mark(key: str) -> str | None:
    """The run a MUTED or HELD mark's item key names; None for other items (an incident event's)."""
    for prefix in (MUTED_PREFIX, HELD_PREFIX):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return None


def mark_values(
    status: str, at: str, act_id: str | None, actor_task_id: str | None, actor_name: str | None
) -> dict[str, Any]:
    """The attributes that put an item in `RunsByDay` as a mark (``at``: ISO 8601, when it happened)."""
    assert status in MARK_STATUSES, status
    values: dict[str, Any] = {"status": status, "finishedAt": at, "finishDay": at[:10]}
    moment = parse_iso(at)
    if moment is not None:
        values["expiresAt"] = int((moment + timedelta(days=MARK_DAYS)).timestamp())
    for name, value in (("actId", act_id), ("actorTaskId", actor_task_id), ("actorName", actor_name)):
        if value:
            values[name] = value
    return values


def write_mark(table: RunsTable, key: str, values: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """SET the mark's attributes (and ``extra``) on item ``key``. Idempotent."""
    present = {**values, **(extra or {})}
    names = {f"#m{i}": name for i, name in enumerate(present)}
    update = "SET " + ", ".join(f"#m{i} = :m{i}" for i in range(len(present)))
    table.update(key, update, names, {f":m{i}": value for i, value in enumerate(present.values())})
