"""An EventBridge event per finished run, for follow-up jobs to hang a rule on."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from run_notifier.config_sections import Section, Variable, text
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.incident_payload import DETAIL_TYPES, incident_data
from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.destinations.reports import budget_detail, digest_detail
from run_notifier.destinations.run_facts import stuck_data
from run_notifier.destinations.run_payload import notification_id, run_data
from run_notifier.destinations.schedule_facts import DETAIL_TYPE as MISSED_DETAIL_TYPE
from run_notifier.destinations.schedule_facts import missed_data
from run_notifier.domain.announcements import (
    BudgetAnnouncement,
    DigestAnnouncement,
    IncidentAnnouncement,
    MissedScheduleAnnouncement,
    RunEndAnnouncement,
    StuckRunAnnouncement,
)
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import Limits, PermanentDeliveryError, TargetSchema, TransientDeliveryError

KIND = "eventbridge"
STUCK_DETAIL_TYPE = "Apify Run Stuck"
DIGEST_DETAIL_TYPE = "Apify Run Digest"
BUDGET_DETAIL_TYPE = "Apify Budget Alert"


class EventBridgeSettings(NamedTuple):
    """EventBridge's settings: the default bus."""

    event_bus_name: str | None


SETTINGS = Section((Variable("EVENT_BUS_NAME", text, None),), model=EventBridgeSettings)
SCHEMA = TargetSchema(keys=frozenset({"eventBusName"}), required_one_of=frozenset({"eventBusName"}))

SOURCE = "apify.run-notifier"
DETAIL_TYPE = "Apify Run Finished"
_PERMANENT_CODES = {"AccessDeniedException", "ValidationException", "ResourceNotFoundException"}


def default_target(section: EventBridgeSettings) -> Target | None:
    """The default target: the settings' bus; None without one."""
    return {"eventBusName": section.event_bus_name} if section.event_bus_name else None


def report_target(section: EventBridgeSettings | None, channel: str) -> Target | None:
    """Digests and budget alerts go to the default bus too (the channel is chat's)."""
    return default_target(section) if section is not None else None


def build(target: Target, context: DestinationContext) -> EventBridgeDestination:
    """An EventBridge destination on this target's bus (one attempt per send: the claim's lease holds)."""
    return EventBridgeDestination(context.aws("events"), str(target["eventBusName"]))


class EventBridgeDestination(Rendering):
    """`PutEvents` on one bus: every announcement a rule could hang a follow-up job on."""

    kind = KIND
    #: PutEvents: an entry is at most 256 KB.
    limits = Limits(body_bytes=256 * 1024)

    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events = events_client
        self._bus = bus_name

    @renders(RunEndAnnouncement)
    def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str:
        """The contract's data, plus the same stable ID the webhook carries as `webhook-id`."""
        summary = announcement.run
        return self._put(DETAIL_TYPE, {**run_data(summary), "notificationId": notification_id(summary)})

    @renders(MissedScheduleAnnouncement)
    def _missed(self, announcement: MissedScheduleAnnouncement, deadline: Deadline) -> str:
        """`Apify Schedule Missed`, with the webhook's `data` (its `notificationId` included)."""
        return self._put(MISSED_DETAIL_TYPE, missed_data(announcement.missed))

    @renders(StuckRunAnnouncement)
    def _stuck(self, announcement: StuckRunAnnouncement, deadline: Deadline) -> str:
        """`Apify Run Stuck`, with the webhook's `data` (its `notificationId` included)."""
        return self._put(STUCK_DETAIL_TYPE, stuck_data(announcement.run, announcement.alert))

    @renders(IncidentAnnouncement)
    def _incident(self, announcement: IncidentAnnouncement, deadline: Deadline) -> str:
        """`Apify Incident Opened` / `Resolved`, with the webhook's `data` (its `notificationId` included)."""
        return self._put(DETAIL_TYPES[announcement.event.kind], incident_data(announcement.event))

    @renders(DigestAnnouncement)
    def _digest(self, announcement: DigestAnnouncement, deadline: Deadline) -> str:
        """`Apify Run Digest`: the digest's numbers, for dashboards."""
        return self._put(DIGEST_DETAIL_TYPE, digest_detail(announcement.spec, announcement.period, announcement.digest))

    @renders(BudgetAnnouncement)
    def _budget(self, announcement: BudgetAnnouncement, deadline: Deadline) -> str:
        """`Apify Budget Alert`."""
        return self._put(BUDGET_DETAIL_TYPE, budget_detail(announcement.spec, announcement.alert))

    def put(self, detail_type: str, detail: dict[str, object]) -> str:
        """Any event on this bus (a renderer from outside this module)."""
        return self._put(detail_type, detail)

    def _put(self, detail_type: str, detail: dict[str, object]) -> str:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus,
            "Resources": [],
        }
        try:
            response = self._events.put_events(Entries=[entry])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _PERMANENT_CODES:
                raise PermanentDeliveryError(f"EventBridge bus {self._bus} refused the event: {code}") from None
            raise TransientDeliveryError(f"EventBridge PutEvents failed: {code}") from None
        except BotoCoreError as error:
            raise TransientDeliveryError(f"EventBridge PutEvents failed: {type(error).__name__}") from None
        result = response["Entries"][0]
        if response.get("FailedEntryCount") or "ErrorCode" in result:
            raise TransientDeliveryError(f"EventBridge rejected the entry: {result.get('ErrorCode')}")
        return f"event {result.get('EventId')}"
