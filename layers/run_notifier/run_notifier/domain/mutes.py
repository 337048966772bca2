"""One-off mutes: "stop telling the channel about this Actor for two hours" (no I/O).

A mute names an Actor (its ID, or `username~name` as Apify's API spells it) or an Actor task, an
end time and a reason. A run it covers is still recorded, counted and announced to the webhook,
EventBridge, PagerDuty and follow-ups; only chat (Slack, Teams, Discord) stays silent, for the
run and for its incident, and its item says which mute held it (`mutedBy`). Nothing is posted
after the mute ends for what it held: the ledger and the digests still count those runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.run_summary import RunSummary

#: An Actor or task as a mute names it: an Apify ID, or `username~name` (`username/name` is accepted).
#: Matched whole (`fullmatch`): `$` alone would let a trailing newline through, into a subject that silences nothing.
SUBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?:[~/][A-Za-z0-9][A-Za-z0-9._-]{0,99})?")
DURATION = re.compile(r"^([1-9][0-9]{0,4})([smhd])$")
UNIT_SECS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The longest mute: a forgotten mute must not silence an Actor for good.
MAX_MUTE = timedelta(days=30)
MAX_REASON = 300


class InvalidMute(ValueError):
    """What is wrong with a mute as given (the intake answers 400 with it, `make mute` exits 2)."""


class Mute(NamedTuple):
    """A one-off mute: its subject (an Actor or a task), until when, why, and when it was made."""

    #: `actor:<id or username~name>` or `task:<id>`.
    subject: str
    until: str
    reason: str = ""
    created_at: str = ""

    def active(self, now: datetime) -> bool:
        """True until its end."""
        until = parse_iso(self.until)
        return until is not None and now < until


def subject_of(actor: str | None = None, task: str | None = None) -> str:
    """The mute's subject; exactly one of Actor and task, each an Apify ID or `username~name`."""
    if bool(actor) == bool(task):
        raise InvalidMute("name exactly one of an Actor (actor) or a task (task)")
    kind, value = ("actor", actor) if actor else ("task", task)
    assert value is not None
    if not SUBJECT_ID.fullmatch(value):
        raise InvalidMute(f"{kind} must be an Apify ID or username~name, got {value[:60]!r}")
    return f"{kind}:{value.replace('/', '~')}"


def duration_of(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `7d`: at least a second, at most MAX_MUTE."""
    match = DURATION.match(text.strip())
    if not match:
        raise InvalidMute(f"for must be a number and a unit (s, m, h, d), like 2h; got {text[:20]!r}")
    duration = timedelta(seconds=int(match.group(1)) * UNIT_SECS[match.group(2)])
    if duration > MAX_MUTE:
        raise InvalidMute(f"a mute lasts at most {MAX_MUTE.days} days")
    return duration


def reason_of(text: str | None) -> str:
    """The reason, stripped; InvalidMute when it is over MAX_REASON characters or not valid text (a lone surrogate)."""
    reason = (text or "").strip()
    if len(reason) > MAX_REASON:
        raise InvalidMute(f"reason is at most {MAX_REASON} characters")
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidMute("reason is not valid text (a lone surrogate)") from None
    return reason


def subjects_of(summary: RunSummary) -> tuple[str, ...]:
    """Every subject that covers this run: its task, its Actor's ID and its Actor's name."""
    subjects = []
    if summary.actor_task_id:
        subjects.append(f"task:{summary.actor_task_id}")
    if summary.act_id:
        subjects.append(f"actor:{summary.act_id}")
    if summary.actor_name:
        subjects.append(f"actor:{summary.actor_name.replace('/', '~')}")
    return tuple(subjects)


def mute_for(mutes: Iterable[Mute], summary: RunSummary, now: datetime) -> Mute | None:
    """The active mute that covers this run (the one that lasts longest), or None."""
    covering = set(subjects_of(summary))
    active = [m for m in mutes if m.subject in covering and m.active(now)]
    return max(active, key=lambda m: m.until) if active else None
