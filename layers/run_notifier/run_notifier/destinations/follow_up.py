"""Follow-up runs: when a run ends, start the next Actor or task with its dataset, exactly once.

Route target (`"followUp"`): `actorId` (an ID or `username~name`) or `actorTaskId`, an optional
`input` (a JSON object whose strings may hold the run's placeholders, destinations/placeholders.py:
`{"datasetId": "{{defaultDatasetId}}", "sourceRunId": "{{runId}}"}`), and optional `build`,
`memoryMbytes`, `timeoutSecs`; `onWarn` ("skip", the default, or "start") says whether a run that
SUCCEEDED with a health WARN (domain/health.py) starts it. There is no default target: only routes start runs, typically
`{"match": {"status": ["SUCCEEDED"], "actId": ["..."]}, "followUp": {...}}`.

Exactly once, as every destination: the notifier claims the follow-up before the start and
marks it with the started run's ID after. Apify has no idempotency key for run starts, so the
one window left is a crash (or an answer lost) between Apify starting the run and that mark,
as with a Slack post. The started run is enqueued for watching at once, and the two items say
what started what (`followUpRunId` on the source, `startedBy` on the started run).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.placeholders import fill, unknown_placeholders
from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.domain.announcements import RunEndAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import (
    ApifyAuthError,
    ApifyRequestError,
    ApifyUnavailable,
    PermanentDeliveryError,
    RunNotFound,
    TargetSchema,
    TransientDeliveryError,
    log,
)
from run_notifier.domain.run_summary import RunSummary

KIND = "followUp"
#: No settings of its own: follow-ups are named by routes only.
SETTINGS = None
#: Run options the start takes as query parameters (Apify's names), from the target's keys.
OPTIONS = {"build": "build", "memoryMbytes": "memory", "timeoutSecs": "timeout"}


def check_target(target: Mapping[str, Any]) -> str | None:
    """What is wrong with a follow-up target (an unknown placeholder, a bad option), or None."""
    if "actorId" in target and "actorTaskId" in target:
        return "give actorId or actorTaskId, not both"
    unknown = unknown_placeholders(target.get("input", {}))
    if unknown:
        return f"input has unknown placeholders {unknown}"
    if target.get("onWarn", "skip") not in ("skip", "start"):
        return 'onWarn must be "skip" (the default) or "start"'
    for key in ("memoryMbytes", "timeoutSecs"):
        if key in target and not str(target[key]).isdigit():
            return f"{key} must be a whole number"
    return None


SCHEMA = TargetSchema(
    keys=frozenset({"actorId", "actorTaskId", "input", "build", "memoryMbytes", "timeoutSecs", "onWarn"}),
    required_one_of=frozenset({"actorId", "actorTaskId"}),
    object_keys=frozenset({"input"}),
    check=check_target,
)


def default_target(section: None) -> Target | None:
    """None: follow-ups are named by routes only."""
    return None  # follow-ups are named by routes only


#: Starts a run: (path, query, input, deadline) -> the Run object.
StartRun = Callable[[str, dict[str, str], dict[str, Any], Deadline], dict[str, Any]]
#: After a start: (source run, started run) -> watch it and record who started whom.
Started = Callable[[str, str], None]


def build(target: Target, context: DestinationContext) -> FollowUpDestination:
    """A follow-up destination that starts this target's Actor or task through the Apify client."""
    from run_notifier.adapters.follow_ups import FollowUps
    from run_notifier.adapters.sqs_enqueue import SqsEnqueue

    follow_ups = FollowUps(context.table, lambda: SqsEnqueue(context.aws("sqs"), _queue_url(context)))
    if "actorTaskId" in target:
        path = f"/v2/actor-tasks/{quote(str(target['actorTaskId']), safe='~')}/runs"
    else:
        path = f"/v2/acts/{quote(str(target['actorId']), safe='~')}/runs"
    query = {name: str(target[key]) for key, name in OPTIONS.items() if key in target}
    start_on_warn = target.get("onWarn") == "start"
    return FollowUpDestination(
        path, query, dict(target.get("input", {})), context.apify.start_run, follow_ups.started, start_on_warn
    )


def _takes(destination: FollowUpDestination, announcement: RunEndAnnouncement) -> bool:
    return destination.accepts(announcement.run)


def _queue_url(context: DestinationContext) -> str:
    if context.queue_url is None:
        raise TransientDeliveryError("no run queue here to watch a follow-up run on")
    return context.queue_url


class FollowUpDestination(Rendering):
    """Starts the next Actor or task with the run's dataset: a run's end only."""

    kind = KIND

    def __init__(
        self,
        path: str,
        query: dict[str, str],
        input_template: dict[str, Any],
        start: StartRun,
        started: Started,
        start_on_warn: bool = False,
    ) -> None:
        self._start_on_warn = start_on_warn
        self._path = path
        self._query = query
        self._input = input_template
        self._start = start
        self._started = started

    def accepts(self, summary: RunSummary) -> bool:
        """A pipeline guard: a run that SUCCEEDED wrongly (health WARN: 0 items, a cost spike) does not start
        the next job unless the target says `"onWarn": "start"`: an empty dataset must not be loaded
        over yesterday's good one."""
        return self._start_on_warn or summary.health_verdict != "WARN"

    @renders(RunEndAnnouncement, when=_takes)
    def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str:
        """Start the follow-up run exactly once (the claim), then enqueue it to be watched in turn."""
        summary = announcement.run
        run_input = fill(self._input, summary)
        try:
            run = self._start(self._path, self._query, run_input, deadline)
        except (ApifyRequestError, ApifyAuthError, RunNotFound) as error:
            hint = " (Apify: usage limit reached or not enough credits; not retried)" if " 402 " in str(error) else ""
            raise PermanentDeliveryError(f"follow-up not started: {error}{hint}") from None
        except ApifyUnavailable as error:
            raise TransientDeliveryError(f"follow-up not started yet: {error}") from None
        started = str(run.get("id") or "")
        if not started:
            raise PermanentDeliveryError("follow-up started, but Apify's answer has no run ID")
        try:
            self._started(summary.run_id, started)
        except Exception as error:  # the run is started: never fail (and so repeat) the start for this
            log.error(
                "Follow-up run started but not enqueued or recorded; the discovery sweep will find it",
                extra={"started_run_id": started, "reason": f"{type(error).__name__}: {error}"[:300]},
            )
        return f"started run {started}"
