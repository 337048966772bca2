"""Bot mode: the summary posted (or a live message updated) in one channel, with thread replies.

A failed run's thread gets its status message and the log's last lines; an updated live
message's mentions go in the thread too, because Slack notifies nobody of an edit. Replies are
a courtesy: a failed reply never turns a sent alert into a retried one.

On a route in incident mode it announces incidents instead of runs: the opening post (with the
route's mentions, the only ones), a thread reply per further failing run and an update of the top
message (at most one per 10 s per incident, `incident_messages`), and at the recovery the top
message updated to resolved and a thread reply broadcast to the channel. There the replies are
the alerts, not a courtesy: each is claimed on its run's item and retried until it is out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from run_notifier.destinations.chat import ChatRendering
from run_notifier.destinations.rendering import renders
from run_notifier.destinations.slack.bursts import (
    BurstRule,
    DynamoBursts,
    GroupMessage,
    grouped_text,
    recovered_key,
)
from run_notifier.destinations.slack.incident_message import (
    epoch_ms,
    facts_of_event,
    facts_of_run,
    failure_head,
    failure_reply,
    grouped_line,
    recovered_line,
    recovery_reply,
    top_message,
)
from run_notifier.destinations.slack.incident_messages import DynamoIncidentMessages, IncidentMessage
from run_notifier.destinations.slack.incident_replies import (
    MAX_PER_REPLY,
    REPLY_GAP_MS,
    DynamoIncidentReplies,
    ReplyEntry,
    entry_key,
)
from run_notifier.destinations.slack.live_messages import DynamoLiveMessages, LiveMessage
from run_notifier.destinations.slack.message import WHY_IT_FAILED, log_reply, running_message, summary_text
from run_notifier.destinations.slack.reports import budget_text, digest_text
from run_notifier.destinations.slack.target import Style
from run_notifier.destinations.slack.web_api import MessageGone, SlackWebApi
from run_notifier.domain.announcements import (
    BudgetAnnouncement,
    DigestAnnouncement,
    IncidentAnnouncement,
    IncidentPartAnnouncement,
)
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.incidents import IncidentEvent, RunInIncident, Transition
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.ports import (
    DeliveryNotYet,
    Limits,
    PermanentDeliveryError,
    Send,
    Traits,
    TransientDeliveryError,
    log,
)
from run_notifier.domain.run_summary import RunSummary

#: The log's tail kept in memory (a log can be many MB; it is streamed to its end).
LOG_KEEP_BYTES = 16 * 1024
#: At most this long reading the log, within the destination's share.
LOG_READ_SECS = 10.0

#: A run's log, streamed to its end: (the last ``keep_bytes`` as text, how many bytes came before).
LogTail = Callable[[str, int, Deadline], tuple[str, int]]


class SlackBotDestination(ChatRendering):
    """`chat.postMessage` to one channel (at most one message a second per channel); with
    `live_messages`, also the `RunningAnnouncer` capability. Renders incidents (and a run's part in
    one), digests and budget alerts besides what every chat destination says."""

    kind = "slack"
    traits = Traits(chat=True, incidents_instead_of_runs=True)
    #: A message's text: 40,000 characters.
    limits = Limits(text_chars=40_000, text_key="text")

    def __init__(
        self,
        api: SlackWebApi,
        channel: str,
        style: Style,
        *,
        log_tail: LogTail | None = None,
        live_messages: DynamoLiveMessages | None = None,
        incident_messages: DynamoIncidentMessages | None = None,
        bursts: DynamoBursts | None = None,
        incident_replies: DynamoIncidentReplies | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._api = api
        self._channel = channel
        self._style = style
        self._log_tail = log_tail
        self._live = live_messages
        self._incidents = incident_messages
        self._burst_store = bursts
        self._reply_store = incident_replies
        self._clock = clock or (lambda: datetime.now(UTC))

    def post_run(self, summary: RunSummary, deadline: Deadline) -> str:
        """Post the summary (or update the run's live message in place); return where it went."""
        live = self._live.find(summary.run_id) if self._live else None
        updated, answer, attempts = self._style.sent(
            summary, lambda message: self._run_message(message, live, deadline)
        )
        where = f"{answer.get('channel', self._channel)} ts {answer.get('ts')}"
        detail = f"{'updated' if updated else 'posted to'} {where} after {attempts} attempt(s)"
        called = " ".join(self._style.called(summary)) if updated else ""
        if summary.status in WHY_IT_FAILED and self._log_tail and answer.get("ts"):
            detail += self._reply_with_log(summary, str(answer["ts"]), deadline, called)
        elif called and answer.get("ts"):
            text = f"{called} {summary.status}: {summary.run_id}"
            detail += self._reply({"thread_ts": str(answer["ts"]), "text": text}, deadline)
        return detail

    def _run_message(
        self, message: dict[str, Any], live: LiveMessage | None, deadline: Deadline
    ) -> tuple[bool, dict[str, Any], int]:
        """The run's message as an update of its live message (when it has one still there), else a post."""
        message = {"channel": self._channel, **message}
        updated = self._update(live, message, deadline) if live else None
        answer, attempts = updated or self._post(message, deadline)
        return updated is not None, answer, attempts

    @renders(DigestAnnouncement)
    def _digest(self, announcement: DigestAnnouncement, deadline: Deadline) -> str:
        """The digest's text in this channel (the digest's own)."""
        text = digest_text(announcement.spec, announcement.period, announcement.digest)
        answer, attempts = self._post({"channel": self._channel, "text": text, "unfurl_links": False}, deadline)
        return f"posted to {answer.get('channel', self._channel)} ts {answer.get('ts')} after {attempts} attempt(s)"

    @renders(BudgetAnnouncement)
    def _budget(self, announcement: BudgetAnnouncement, deadline: Deadline) -> str:
        """The budget alert's text in this channel (the budget's own)."""
        text = budget_text(announcement.spec, announcement.alert)
        answer, attempts = self._post({"channel": self._channel, "text": text}, deadline)
        return f"posted to {answer.get('channel', self._channel)} ts {answer.get('ts')} after {attempts} attempt(s)"

    @renders(IncidentAnnouncement)
    def _incident(self, announcement: IncidentAnnouncement, deadline: Deadline) -> str:
        return self.send_incident(announcement.event, deadline)

    def send_incident(self, event: IncidentEvent, deadline: Deadline) -> str:
        """Opened: the top message, with the route's mentions. Resolved: the top message updated in place,
        and a thread reply broadcast to the channel."""
        facts = facts_of_event(event)
        found = self._incident_store().find(event.incident_id, self._channel)
        if event.kind is Transition.OPENED:
            # Bursts are counted by when the incidents opened, so however late a delivery, they group alike.
            rule = BurstRule(event.burst_after, event.burst_window_secs)
            opened = parse_iso(event.opened_at)
            opened_ms = epoch_ms(opened) if opened else self._ms()
            admission = self._bursts.admit(self._channel, event.incident_id, opened_ms, rule)
            if admission.grouped:
                return self._into_group(event, grouped_line(facts), admission.window_start_ms, deadline)
            message = top_message(facts, self._style.mentions)
            try:
                answer, attempts = self._post({"channel": self._channel, **message}, deadline)
            except PermanentDeliveryError as error:
                self._incident_store().record_refused(event.incident_id, self._channel, str(error))
                raise
            ts = str(answer.get("ts"))
            self._incident_store().record_opened(event.incident_id, self._channel, ts, event.failures, self._ms())
            return f"opened in {answer.get('channel', self._channel)} ts {ts} after {attempts} attempt(s)"
        if found is not None:  # the failures still waiting for a reply go before the recovery
            self._flush_replies(event.incident_id, found.ts, deadline)
        if found is not None and found.grouped:
            return self._recover_in_group(event, found, deadline)
        if found is None:  # its opening post failed for good (or was never made): say it anew
            answer, attempts = self._post({"channel": self._channel, **top_message(facts)}, deadline)
            return f"resolved in a new message ts {answer.get('ts')} after {attempts} attempt(s)"
        self._incident_store().mark_resolved(event.incident_id, self._channel, event.failures, self._ms())
        updated = self._update(
            LiveMessage(found.channel, found.ts), {"channel": self._channel, **top_message(facts)}, deadline
        )
        reply: dict[str, Any] = {"channel": self._channel, "text": recovery_reply(facts)}
        if updated is not None:
            reply.update(thread_ts=found.ts, reply_broadcast=True)
        answer, attempts = self._post(reply, deadline)
        where = "updated and broadcast" if updated is not None else "posted (the top message is gone)"
        return f"resolved: {where} ts {answer.get('ts')} after {attempts} attempt(s)"

    def _into_group(self, event: IncidentEvent, line: str, window_start_ms: int, deadline: Deadline) -> str:
        """A burst: this incident's line goes into its window's grouped message. Done when the message shows it."""
        self._bursts.add_line(self._channel, window_start_ms, event.incident_id, line)
        group = self._show_in_group(window_start_ms, event.incident_id, deadline)
        assert group.ts is not None  # shown lines were shown by a message
        self._incident_store().record_opened(
            event.incident_id, self._channel, group.ts, event.failures, self._ms(), window_start_ms=window_start_ms
        )
        return f"grouped: the burst's message ts {group.ts} shows {len(group.shown)} lines"

    def _recover_in_group(self, event: IncidentEvent, found: IncidentMessage, deadline: Deadline) -> str:
        """A grouped incident recovered: its line in the grouped message says so, and a reply in the grouped
        message's thread, broadcast to the channel, says it once (after the line, so a retry never repeats it)."""
        facts = facts_of_event(event)
        key = recovered_key(event.incident_id)
        self._bursts.add_line(self._channel, found.window_start_ms, key, recovered_line(facts))
        self._show_in_group(found.window_start_ms, key, deadline)
        reply = {
            "channel": self._channel,
            "text": recovery_reply(facts),
            "thread_ts": found.ts,
            "reply_broadcast": True,
        }
        answer, attempts = self._post(reply, deadline)
        return (
            f"resolved in the burst's message {found.ts}: broadcast ts {answer.get('ts')} after {attempts} attempt(s)"
        )

    def _show_in_group(self, window_start_ms: int, line_key: str, deadline: Deadline) -> GroupMessage:
        """The window's grouped message as it stands once it shows `line_key`: posted or updated by this
        delivery when it may hold it now, else `DeliveryNotYet` until the next update (at most every few
        seconds, whoever makes it)."""
        group = self._bursts.group(self._channel, window_start_ms)
        if line_key in group.shown:
            return group
        owner = uuid.uuid4().hex
        if not self._bursts.hold(self._channel, window_start_ms, owner, self._ms()):
            group = self._bursts.group(self._channel, window_start_ms)
            if line_key in group.shown:
                return group
            wait = max(1.0, group.wait_secs(self._ms()))
            raise DeliveryNotYet("the burst's grouped message will show this line on its next update", wait)
        group = self._bursts.group(self._channel, window_start_ms)  # every line added so far
        message = {"channel": self._channel, "text": grouped_text(group.lines)}
        updated = self._update(LiveMessage(self._channel, group.ts), message, deadline) if group.ts else None
        answer, _ = updated or self._post(message, deadline)
        ts = group.ts if updated else str(answer.get("ts"))
        assert ts is not None
        shown = frozenset(group.lines)
        if not self._bursts.record_shown(self._channel, window_start_ms, owner, ts, shown, self._ms()):
            raise DeliveryNotYet("the burst's grouped message was taken over while this delivery updated it", 1.0)
        return group._replace(ts=ts, shown=shown)

    def post_lines(self, title: str, lines: list[str], deadline: Deadline) -> str:
        """One message: a title and its lines (what quiet hours held, a missed schedule)."""
        answer, attempts = self._post({"channel": self._channel, "text": summary_text(title, lines)}, deadline)
        return f"posted to {answer.get('channel', self._channel)} ts {answer.get('ts')} after {attempts} attempt(s)"

    @renders(IncidentPartAnnouncement, several=True)
    def _in_incident(self, announcement: IncidentPartAnnouncement) -> list[Send]:
        """A further failure: its thread reply, and an update of the top message (own claims, `slack-update`)."""
        summary, part = announcement.run, announcement.part
        if part.transition is not Transition.FAILED_AGAIN:
            return []  # the opening and the recovery are the incident's own events
        return [
            (self.kind, partial(self._failure_reply, summary, part)),
            (f"{self.kind}-update", partial(self._update_top, summary, part)),
        ]

    def _failure_reply(self, summary: RunSummary, part: RunInIncident, deadline: Deadline) -> str:
        """This failure's entry in the incident's next thread reply (incident_replies.py): done when a
        posted reply held it, made by this delivery when it may post now."""
        found = self._incident_store().find(part.incident_id, self._channel)
        if found is None:
            if self._incident_store().refused(part.incident_id, self._channel):
                raise PermanentDeliveryError(f"incident {part.incident_id}: Slack refused its opening post")
            raise TransientDeliveryError(f"incident {part.incident_id}: its opening post is not out yet")
        replies = self._replies()
        entry = ReplyEntry(
            part.failures, summary.run_id, failure_head(summary, part.failures), summary.status, summary.status_message
        )
        key = entry_key(entry)
        added = replies.add(part.incident_id, self._channel, entry, self._ms())
        if added == "posted":
            return "in an earlier thread reply"
        if added == "full":
            raise DeliveryNotYet(f"incident {part.incident_id}: its thread has a full backlog", REPLY_GAP_MS / 1000)
        owner = uuid.uuid4().hex
        if not replies.hold(part.incident_id, self._channel, owner, self._ms()):
            state = replies.state(part.incident_id, self._channel)
            if key in state.posted:
                return "in an earlier thread reply"
            wait = max(1.0, state.wait_secs(self._ms()))
            raise DeliveryNotYet(f"incident {part.incident_id}: its next thread reply will hold this run", wait)
        pending = sorted(replies.state(part.incident_id, self._channel).pending.items(), key=lambda kv: kv[1])
        batch = dict(pending[:MAX_PER_REPLY])
        newest = max(batch.values())
        reply = {
            "channel": self._channel,
            "thread_ts": found.ts,
            "text": failure_reply(list(batch.values()), self._log_of(newest, deadline)),
        }
        answer, attempts = self._post(reply, deadline)
        if not replies.record_posted(part.incident_id, self._channel, owner, list(batch), self._ms()):
            raise DeliveryNotYet(f"incident {part.incident_id}: its thread reply was taken over meanwhile", 1.0)
        if key not in batch:
            raise DeliveryNotYet(
                f"incident {part.incident_id}: this run is in the next thread reply", REPLY_GAP_MS / 1000
            )
        held = f"{len(batch)} failures" if len(batch) > 1 else "this failure"
        return f"thread reply ts {answer.get('ts')} under {found.ts} ({held}) after {attempts} attempt(s)"

    def _flush_replies(self, incident_id: str, thread_ts: str, deadline: Deadline) -> None:
        """Post every failure still pending in the incident's thread now (the recovery must come last)."""
        replies = self._replies()
        if not replies.state(incident_id, self._channel).pending:
            return
        owner = uuid.uuid4().hex
        if not replies.hold(incident_id, self._channel, owner, self._ms(), wait_for_gap=False):
            wait = max(1.0, replies.state(incident_id, self._channel).wait_secs(self._ms()))
            raise DeliveryNotYet(f"incident {incident_id}: its last failures' reply is being posted", wait)
        while pending := sorted(replies.state(incident_id, self._channel).pending.items(), key=lambda kv: kv[1]):
            batch = dict(pending[:MAX_PER_REPLY])
            text = failure_reply(list(batch.values()), self._log_of(max(batch.values()), deadline))
            self._post({"channel": self._channel, "thread_ts": thread_ts, "text": text}, deadline)
            if not replies.record_posted(incident_id, self._channel, owner, list(batch), self._ms(), keep_hold=True):
                raise DeliveryNotYet(f"incident {incident_id}: its thread reply was taken over meanwhile", 1.0)
        replies.release(incident_id, self._channel, owner)

    def _log_of(self, entry: ReplyEntry, deadline: Deadline) -> str | None:
        """The newest failure's log tail for its reply (best effort: without it the reply says why)."""
        if self._log_tail is None:
            return None
        try:
            text, dropped = self._log_tail(entry.run_id, LOG_KEEP_BYTES, deadline.within(LOG_READ_SECS))
        except Exception as error:  # the reply still says why, from the status message
            log.warning("No log for the thread", extra={"reason": f"{type(error).__name__}: {error}"[:300]})
            return None
        facts = RunSummary(entry.run_id, entry.status, status_message=entry.status_message)
        return log_reply(facts, text, dropped)

    def _replies(self) -> DynamoIncidentReplies:
        if self._reply_store is None:
            raise PermanentDeliveryError("this Slack destination keeps no incident replies")
        return self._reply_store

    def _update_top(self, summary: RunSummary, part: RunInIncident, deadline: Deadline) -> str:
        reserved = self._incident_store().reserve_update(part.incident_id, self._channel, part.failures, self._ms())
        if reserved.why == "too-soon":
            raise DeliveryNotYet(f"incident {part.incident_id}: updated less than 10 s ago", reserved.wait_secs)
        if not reserved.ok:
            return f"no update needed ({reserved.why})"
        found = self._incident_store().find(part.incident_id, self._channel)
        assert found is not None  # the reservation needs the message
        message = {"channel": self._channel, **top_message(facts_of_run(summary, part))}
        updated = self._update(LiveMessage(found.channel, found.ts), message, deadline)
        if updated is None:
            return "the top message is gone; not updated"
        return f"top message shows {part.failures} failed runs (after {updated[1]} attempt(s))"

    @property
    def _bursts(self) -> DynamoBursts:
        if self._burst_store is None:
            raise PermanentDeliveryError("this Slack destination keeps no bursts")
        return self._burst_store

    def _incident_store(self) -> DynamoIncidentMessages:
        if self._incidents is None:
            raise PermanentDeliveryError("this Slack destination keeps no incident messages")
        return self._incidents

    def _ms(self) -> int:
        return epoch_ms(self._clock())

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
