"""Apify's ScheduleShort -> the domain's ScheduleView: Apify's schedule field names stop here."""

from __future__ import annotations

import re
from typing import Any

from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.missed_schedules import ScheduleAction, ScheduleView

_ID = re.compile(r"[A-Za-z0-9]{1,64}")
MAX_ACTIONS = 20


def schedule_view(item: dict[str, Any]) -> ScheduleView | None:
    """The schedule, or None when it has no usable ID (it cannot be remembered or claimed)."""
    schedule_id = item.get("id")
    if not (isinstance(schedule_id, str) and _ID.fullmatch(schedule_id)):
        return None
    raw_actions = item.get("actions")
    actions = raw_actions if isinstance(raw_actions, list) else []
    return ScheduleView(
        schedule_id=schedule_id,
        name=_text(item.get("name"), schedule_id),
        enabled=item.get("isEnabled") is True,
        cron=_text(item.get("cronExpression"), "?"),
        timezone=_text(item.get("timezone"), "UTC"),
        last_run_at=parse_iso(item.get("lastRunAt")),
        next_run_at=parse_iso(item.get("nextRunAt")),
        actions=tuple(a for a in (_action(raw) for raw in actions[:MAX_ACTIONS]) if a is not None),
    )


def _action(raw: object) -> ScheduleAction | None:
    if not isinstance(raw, dict):
        return None
    if raw.get("type") == "RUN_ACTOR" and _is_id(raw.get("actorId")):
        return ScheduleAction(act_id=raw["actorId"])
    if raw.get("type") == "RUN_ACTOR_TASK" and _is_id(raw.get("actorTaskId")):
        return ScheduleAction(actor_task_id=raw["actorTaskId"])
    return None


def _is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _text(value: object, default: str) -> str:
    return value[:200] if isinstance(value, str) and value else default
