"""Bot mode: the summary posted (or a live message updated) in one channel, with thread replies.

A failed run's thread gets its status message and the log's last lines; an updated live
message's mentions go in the thread too, because Slack notifies nobody of an edit. Replies are
a courtesy: a failed reply never turns a sent alert into a retried one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from run_notifier.destinations.slack.live_messages import DynamoLiveMessages, LiveMessage
from run_notifier.destinations.slack.message import WHY_IT_FAILED, log_reply, running_message
from run_notifier.destinations.slack.target import Style
from run_notifier.destinations.slack.web_api import MessageGone, SlackWebApi
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import log
from run_notifier.domain.run_summary import RunSummary

#: The log's tail kept in memory (a log can be many MB; it is streamed to its end).
LOG_KEEP_BYTES = 16 * 1024
#: At most this long reading the log, within the destination's share.
LOG_READ_SECS = 10.0

#: A run's log, streamed to its end: (the last ``keep_bytes`` as text, how many bytes came before).
LogTail = Callable[[str, int, Deadline], tuple[str, int]]


class SlackBotDestination:
    """`chat.postMessage` to one channel (at most one message a second per channel); with
    `live_messages`, also the `RunningAnnouncer` capability."""

    kind = "slack"

    def __init__(
        self,
        api: SlackWebApi,
        channel: str,
        style: Style,
        *,
        log_tail: LogTail | None = None,
        live_messages: DynamoLiveMessages | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._api = api
        self._channel = channel
        self._style = style
        self._log_tail = log_tail
        self._live = live_messages
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        """Post the summary (or update the run's live message in place); return where it went."""
        message = {"channel": self._channel, **self._style.message(summary)}
        live = self._live.find(summary.run_id) if self._live else None
        updated = self._update(live, message, deadline) if live else None
        answer, attempts = updated or self._post(message, deadline)
        where = f"{answer.get('channel', self._channel)} ts {answer.get('ts')}"
        detail = f"{'updated' if updated else 'posted to'} {where} after {attempts} attempt(s)"
        called = " ".join(self._style.called(summary)) if updated else ""
        if summary.status in WHY_IT_FAILED and self._log_tail and answer.get("ts"):
            detail += self._reply_with_log(summary, str(answer["ts"]), deadline, called)
        elif called and answer.get("ts"):
            text = f"{called} {summary.status}: {summary.run_id}"
            detail += self._reply({"thread_ts": str(answer["ts"]), "text": text}, deadline)
        return detail

    def announce_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """The live message of a run first seen running; one per run, whatever the duplicates."""
        if self._live is None or not self._live.claim(summary.run_id, uuid.uuid4().hex, self._clock()):
            return
        answer, _ = self._post({"channel": self._channel, **running_message(summary)}, deadline)
        self._live.record(summary.run_id, LiveMessage(str(answer.get("channel")), str(answer.get("ts"))), self._clock())

    def _post(self, message: dict[str, Any], deadline: Deadline) -> tuple[dict[str, Any], int]:
        return self._api.call("chat.postMessage", message, deadline, channel=self._channel)

    def _reply(self, reply: dict[str, Any], deadline: Deadline) -> str:
        """A thread reply; best effort (the alert is out: a failure is logged, the notification stands)."""
        try:
            self._post({"channel": self._channel, **reply}, deadline)
        except Exception as error:  # a courtesy must not turn a sent alert into a retried one
            log.warning("No reply in the thread", extra={"reason": f"{type(error).__name__}: {error}"[:300]})
            return "; no thread reply"
        return "; thread reply"

    def _update(
        self, live: LiveMessage, message: dict[str, Any], deadline: Deadline
    ) -> tuple[dict[str, Any], int] | None:
        """`chat.update` of the live message (idempotent); None when it is gone (post fresh instead)."""
        update = {**message, "channel": live.channel, "ts": live.ts}
        try:
            return self._api.call("chat.update", update, deadline, channel=self._channel)
        except MessageGone:
            log.info("The live message is gone; posting the final summary fresh", extra={"ts": live.ts})
            return None

    def _reply_with_log(self, summary: RunSummary, ts: str, deadline: Deadline, called: str) -> str:
        """The status message and the log's last lines, in the message's thread (best effort)."""
        assert self._log_tail is not None
        try:
            text, dropped = self._log_tail(summary.run_id, LOG_KEEP_BYTES, deadline.within(LOG_READ_SECS))
        except Exception as error:  # no log, but the mentions (if any) still go out
            log.warning("No log for the thread", extra={"reason": f"{type(error).__name__}: {error}"[:300]})
            text, dropped = "(the log could not be read)", 0
        reply = f"{called} {log_reply(summary, text, dropped)}".strip()
        return self._reply({"thread_ts": ts, "text": reply}, deadline)
