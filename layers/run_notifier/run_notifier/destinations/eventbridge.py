"""An EventBridge event per finished run, for follow-up jobs to hang a rule on."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from run_notifier.delivery import PermanentDeliveryError, TransientDeliveryError
from run_notifier.run_summary import RunSummary
from run_notifier.timebudget import Deadline

SOURCE = "apify.run-notifier"
DETAIL_TYPE = "Apify Run Finished"
_PERMANENT_CODES = {"AccessDeniedException", "ValidationException", "ResourceNotFoundException"}


class EventBridgeDestination:
    kind = "eventbridge"

    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events = events_client
        self._bus = bus_name

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(summary.data()),
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
