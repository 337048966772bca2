"""The demo's incident story, read from what the receiver got: Slack's channel and PagerDuty's alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from localdev.demo.scenario import FLAKY_ACTOR, INCIDENT_CHANNEL, OUTAGE_RUNS, PAGERDUTY_PATH

FLAKY_INCIDENT_PREFIX = f"incident#0#actor:{FLAKY_ACTOR}#"
#: The outage's Actors are demo/shop-00 to demo/shop-19.
OUTAGE_NAME = re.compile(r"demo/shop-[0-9]{2}\b")


class IncidentStory:
    def __init__(self, receiver: Any) -> None:
        self._receiver = receiver

    def _channel(self) -> list[dict[str, Any]]:
        """The incident channel's messages as they stand (posted, then maybe updated)."""
        return [m for (channel, _), m in list(self._receiver.slack_messages.items()) if channel == INCIDENT_CHANNEL]

    def _flaky_alert(self) -> tuple[str, dict[str, Any]] | None:
        for key, alert in list(self._receiver.pagerduty.alerts.items()):
            if key.startswith(FLAKY_INCIDENT_PREFIX):
                return key, alert
        return None

    def _outage(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        """The outage's own messages, the grouped messages, and how many Actors the grouped ones list."""
        top = [m for m in self._channel() if "thread_ts" not in m]
        grouped = [m for m in top if m.get("text", "").startswith(":rotating_light:")]
        own = [m for m in top if OUTAGE_NAME.search(m.get("text", "")) and m not in grouped]
        listed = sum(len(OUTAGE_NAME.findall(m.get("text", ""))) for m in grouped)
        return own, grouped, listed

    def settled(self) -> bool:
        """The flaky Actor's incident resolved, and every outage Actor has its message or its line."""
        flaky = self._flaky_alert()
        own, _, listed = self._outage()
        return bool(flaky and flaky[1]["status"] == "resolved" and len(own) + listed == len(OUTAGE_RUNS))

    def report(self, say: Callable[[str], None]) -> bool:
        """Print what the incidents came to; False when it is not what the demo promises."""
        messages = self._channel()
        top = [m for m in messages if "thread_ts" not in m]
        flaky_top = [m for m in top if "flaky-scraper" in m.get("text", "")]
        replies = [m for m in messages if m.get("thread_ts") and not m.get("reply_broadcast")]
        broadcasts = [m for m in messages if m.get("reply_broadcast")]
        own_outage, grouped, listed = self._outage()
        flaky_ts = {ts for (channel, ts), m in self._receiver.slack_messages.items() if m in flaky_top}
        flaky_replies = [m for m in replies if m.get("thread_ts") in flaky_ts]
        flaky = self._flaky_alert()
        pages = [m.json() for m in self._receiver.received(PAGERDUTY_PATH, ok_only=True)]
        flaky_pages = [p["event_action"] for p in pages if flaky and p.get("dedup_key") == flaky[0]]
        outage_pages = [p for p in pages if OUTAGE_NAME.search((p.get("payload") or {}).get("summary", ""))]
        ratelimited = sum(self._receiver.slack_ratelimited.values())
        say(
            f"\nIncidents in #{INCIDENT_CHANNEL}: {FLAKY_ACTOR} failed 3 times and recovered: "
            f"{len(flaky_top)} message "
            f"(now {flaky_top[0]['text'][:60]!r}...), {len(flaky_replies)} thread replies, "
            f"{len(broadcasts)} recovery reply sent to the channel; PagerDuty {flaky_pages}"
            if flaky_top
            else f"\nIncidents in #{INCIDENT_CHANNEL}: no message for {FLAKY_ACTOR}"
        )
        say(
            f"An outage failed {len(OUTAGE_RUNS)} Actors at once: {len(own_outage)} messages of their own (the flaky "
            f"Actor's incident, in the same minute, was the fifth), {len(grouped)} grouped message listing {listed} "
            f"({grouped[0]['text'].splitlines()[0] if grouped else '-'}); PagerDuty {len(outage_pages)} triggers; "
            f"Slack answered ratelimited {ratelimited} times"
        )
        return (
            len(flaky_top) == 1
            and len(flaky_replies) == 2
            and len(broadcasts) == 1
            and flaky_pages == ["trigger", "resolve"]
            and len(own_outage) == 4
            and len(grouped) == 1
            and listed == len(OUTAGE_RUNS) - 4
            and len(outage_pages) == len(OUTAGE_RUNS)
            and ratelimited == 0
        )
