"""Where a finished run is announced. Each destination posts one message per call."""

from __future__ import annotations

from typing import Protocol

from run_notifier.run_summary import RunSummary
from run_notifier.timebudget import Deadline


class Destination(Protocol):
    #: Stable key for exactly-once bookkeeping ("slack", "webhook", "eventbridge").
    kind: str

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        """Deliver; return a short detail for the ledger. Raises DeliveryError subclasses."""
        ...
