"""An EventBridge event per finished run, for follow-up jobs to hang a rule on."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from run_notifier.config_sections import Section, Variable, text
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.incident_payload import ANNOUNCED, DETAIL_TYPES, incident_data
from run_notifier.destinations.run_facts import stuck_data
from run_notifier.destinations.run_payload import notification_id, run_data
from run_notifier.destinations.schedule_facts import DETAIL_TYPE as MISSED_DETAIL_TYPE
from run_notifier.destinations.schedule_facts import missed_data
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.health import StuckAlert
from run_notifier.domain.incidents import IncidentEvent, RunInIncident
from run_notifier.domain.missed_schedules import MissedSlot
from run_notifier.domain.ports import PermanentDeliveryError, RunDelivery, TargetSchema, TransientDeliveryError
from run_notifier.domain.run_summary import RunSummary

KIND = "eventbridge"
STUCK_DETAIL_TYPE = "Apify Run Stuck"


class EventBridgeSettings(NamedTuple):
    event_bus_name: str | None


SETTINGS = Section((Variable("EVENT_BUS_NAME", text, None),), model=EventBridgeSettings)
SCHEMA = TargetSchema(keys=frozenset({"eventBusName"}), required_one_of=frozenset({"eventBusName"}))

SOURCE = "apify.run-notifier"
DETAIL_TYPE = "Apify Run Finished"
_PERMANENT_CODES = {"AccessDeniedException", "ValidationException", "ResourceNotFoundException"}


def default_target(section: EventBridgeSettings) -> Target | None:
    return {"eventBusName": section.event_bus_name} if section.event_bus_name else None


def build(target: Target, context: DestinationContext) -> EventBridgeDestination:
    return EventBridgeDestination(context.aws("events"), str(target["eventBusName"]))


class EventBridgeDestination:
    kind = KIND
    #: Per-run events stay as they are on incident routes; incidents add their opened and resolved events.
    incident_transitions = ANNOUNCED
    instead_of_runs = False

    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events = events_client
        self._bus = bus_name

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        # The contract's data, plus the same stable ID the webhook carries as `webhook-id`.
        return self._put(DETAIL_TYPE, {**run_data(summary), "notificationId": notification_id(summary)})

    def in_incident(self, summary: RunSummary, part: RunInIncident) -> list[RunDelivery]:
        return []  # the run's own event already went out

    def send_missed_schedule(self, missed: MissedSlot, deadline: Deadline) -> str:
        """`Apify Schedule Missed`, with the webhook's `data` (its `notificationId` included)."""
        return self._put(MISSED_DETAIL_TYPE, missed_data(missed))

    def send_stuck(self, summary: RunSummary, alert: StuckAlert, deadline: Deadline) -> str:
        """`Apify Run Stuck`, with the webhook's `data` (its `notificationId` included)."""
        return self._put(STUCK_DETAIL_TYPE, stuck_data(summary, alert))

    def send_incident(self, event: IncidentEvent, deadline: Deadline) -> str:
        """`Apify Incident Opened` / `Resolved`, with the webhook's `data` (its `notificationId` included)."""
        return self._put(DETAIL_TYPES[event.kind], incident_data(event))

    def send_report(self, detail_type: str, detail: dict[str, object]) -> str:
        """A digest's or budget alert's event (destinations/fleet_report.py)."""
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
