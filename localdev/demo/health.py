"""The demo's health-check story, read from what the receiver got and the runs' items."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from run_notifier.domain.isotime import parse_iso

from localdev.demo.scenario import (
    COST_SPIKE,
    EMPTY_RUN,
    HOOK_PATH,
    MISSED_SCHEDULE,
    MISSED_SCHEDULE_GRACE,
    SLACK_PATH,
    STUCK_RUN,
)


class HealthStory:
    def __init__(self, receiver: Any, item: Callable[[str], dict[str, Any]]) -> None:
        self._receiver = receiver
        self._item = item

    def _hooks(self) -> list[dict[str, Any]]:
        return [m.json() for m in self._receiver.received(HOOK_PATH, ok_only=True)]

    def _slack_first_line(self, run_id: str) -> str:
        for message in self._receiver.received(SLACK_PATH, ok_only=True):
            text = str(message.json().get("text", ""))
            if run_id in text and not text.startswith("⏳"):
                return text.split(" run ", 1)[0]
        return "-"

    def settled(self) -> bool:
        types = {(h["type"], h["data"].get("runId") or h["data"].get("scheduleId")) for h in self._hooks()}
        return {
            ("apify.schedule.missed", MISSED_SCHEDULE[0]),
            ("apify.run.stuck", STUCK_RUN[0]),
            ("apify.run.finished", STUCK_RUN[0]),
            ("apify.run.finished", COST_SPIKE[0]),
            ("apify.run.finished", EMPTY_RUN),
        } <= types

    def report(self, say: Callable[[str], None]) -> bool:
        spike = (self._item(COST_SPIKE[0]).get("health") or {}).get("verdict")
        empty = self._item(EMPTY_RUN)
        stuck = [h for h in self._hooks() if h["type"] == "apify.run.stuck"]
        stuck_slack = [
            json.loads(m.body)["text"]
            for m in self._receiver.received(SLACK_PATH, ok_only=True)
            if json.loads(m.body).get("text", "").startswith("⏳")
        ]
        say(f"\nHealth checks: {COST_SPIKE[0]} (8x its usual cost) is {spike}: {self._slack_first_line(COST_SPIKE[0])}")
        say(
            f"{EMPTY_RUN} (0 items, minItems 1) is {(empty.get('health') or {}).get('verdict')}: "
            f"{self._slack_first_line(EMPTY_RUN)}; its follow-up "
            f"{'was started' if 'followUpNotification' in empty else 'was not started (pipeline guard)'}"
        )
        say(
            f"{STUCK_RUN[0]} (started 2 h ago, limit 1 h): {len(stuck)} still-running webhook, "
            f"{len(stuck_slack)} Slack alert {stuck_slack[0][:90] if stuck_slack else '-'!r}, then its finish"
        )
        missed = [
            m for m in self._receiver.received(HOOK_PATH, ok_only=True) if m.json()["type"] == "apify.schedule.missed"
        ]
        missed_slack = [
            json.loads(m.body)["text"]
            for m in self._receiver.received(SLACK_PATH, ok_only=True)
            if "Schedule did not run" in json.loads(m.body).get("text", "")
        ]
        late = [m.at - parse_iso(m.json()["data"]["slot"]).timestamp() for m in missed]  # type: ignore[union-attr]
        say(
            f"Schedule {MISSED_SCHEDULE[1]} (its scheduler never fired): {len(missed)} missed-schedule webhook, "
            f"{len(missed_slack)} Slack alert {missed_slack[0].splitlines()[0] if missed_slack else '-'!r}, "
            f"{late[0] if late else float('nan'):.1f} s after its slot (grace {MISSED_SCHEDULE_GRACE} s, "
            "a sweep every 4 s)"
        )
        return (
            len(missed) == 1
            and len(missed_slack) == 1
            and spike == "WARN"
            and (empty.get("health") or {}).get("verdict") == "WARN"
            and "followUpNotification" not in empty
            and len(stuck) == 1
            and len(stuck_slack) == 1
        )
