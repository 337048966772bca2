"""A schedule's missed slot as destinations say it: the payload data, the chat lines, the link.
(Where it goes: `domain/missed_schedules.stand_in`.)"""

from __future__ import annotations

from run_notifier.adapters.apify_links import CONSOLE
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.missed_schedules import MissedSlot

#: Webhook `type` and EventBridge `DetailType`.
WEBHOOK_TYPE = "apify.schedule.missed"
DETAIL_TYPE = "Apify Schedule Missed"


def schedule_url(missed: MissedSlot) -> str:
    """The schedule's page in the Apify Console."""
    return f"{CONSOLE}/schedules/{missed.schedule_id}"


def notification_id(missed: MissedSlot) -> str:
    """Stable per schedule and slot: a receiver de-duplicates a repeat on it (`webhook-id`, `eventId`)."""
    return f"msg_{missed.schedule_id}_{int(missed.slot.timestamp())}_missed"


def missed_data(missed: MissedSlot) -> dict[str, object]:
    """The webhook's and EventBridge's `data`."""
    return {
        "scheduleId": missed.schedule_id,
        "scheduleName": missed.name,
        "slot": format_iso(missed.slot),
        "reason": missed.reason,
        "cronExpression": missed.cron,
        "timezone": missed.timezone,
        "actions": [
            {k: v for k, v in (("actId", a.act_id), ("actorTaskId", a.actor_task_id)) if v} for a in missed.actions
        ],
        "actorName": missed.actor_name,
        "lastScheduledRunAt": format_iso(missed.last_started) if missed.last_started else None,
        "consoleUrl": schedule_url(missed),
        "notificationId": notification_id(missed),
    }


def chat_title(missed: MissedSlot) -> str:
    """The chat title of a missed slot."""
    return f"⏰ Schedule did not run: {missed.name}"


def chat_lines(missed: MissedSlot) -> list[str]:
    """The chat lines of a missed slot: why, what it starts, its schedule's link."""
    first = missed.first_action
    what = missed.actor_name or first.actor_task_id or first.act_id or "no action"
    return [f"{missed.words()}", f"Starts: {what}", f"Schedule: {schedule_url(missed)}"]
