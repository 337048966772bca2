"""A schedule's missed slot as destinations say it: the payload data, the chat lines, the link.

Routing: a missed slot goes where a FAILED run of its schedule's first Actor or task would go
(`stand_in`): a slot that never ran is a problem of that Actor, and routes that keep quiet about
successes still hear of it. Mutes hold its chat as they hold the Actor's runs'.
"""

from __future__ import annotations

from run_notifier.adapters.apify_links import CONSOLE
from run_notifier.destinations.quiet_hold import Summarizer
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.missed_schedules import MissedSlot
from run_notifier.domain.ports import ScheduleAnnouncer
from run_notifier.domain.run_summary import RunSummary

#: Webhook `type` and EventBridge `DetailType`.
WEBHOOK_TYPE = "apify.schedule.missed"
DETAIL_TYPE = "Apify Schedule Missed"
#: How routes see a missed slot: as a failed run of the Actor or task it should have started.
ROUTED_AS = "FAILED"


def stand_in(missed: MissedSlot) -> RunSummary:
    """The run routes and mutes judge the slot as (it never existed: its ID is the schedule's)."""
    first = missed.first_action
    return RunSummary(
        run_id=missed.schedule_id,
        status=ROUTED_AS,
        act_id=first.act_id,
        actor_task_id=first.actor_task_id,
        actor_name=missed.actor_name,
    )


def schedule_url(missed: MissedSlot) -> str:
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
    return f"⏰ Schedule did not run: {missed.name}"


def chat_lines(missed: MissedSlot) -> list[str]:
    first = missed.first_action
    what = missed.actor_name or first.actor_task_id or first.act_id or "no action"
    return [f"{missed.words()}", f"Starts: {what}", f"Schedule: {schedule_url(missed)}"]


class ChatNotice:
    """A chat destination's "schedule did not run" message, posted as one summary message."""

    def __init__(self, chat: Summarizer, kind: str) -> None:
        self._chat = chat
        self.kind = kind

    def send_missed_schedule(self, missed: MissedSlot, deadline: Deadline) -> str:
        return self._chat.send_summary(chat_title(missed), chat_lines(missed), deadline)


def schedule_announcers(built: list[object]) -> list[ScheduleAnnouncer]:
    """What says a slot was missed: a destination that can, and chat through its summary message."""
    found: list[ScheduleAnnouncer] = []
    for destination in built:
        if isinstance(destination, ScheduleAnnouncer):
            found.append(destination)
        elif isinstance(destination, Summarizer):
            found.append(ChatNotice(destination, str(getattr(destination, "kind", "chat"))))
    return found
