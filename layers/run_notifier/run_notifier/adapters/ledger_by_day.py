"""The ledger by finish time: the runs that finished in a period, from the runs table's `RunsByDay`
index (partition: the UTC day of the finish; sort: `finishedAt`), for digests and `make report`.

A period reads only the UTC days it touches, one query each (paginated), with only the attributes a
digest sums projected: about 250 bytes a run, and an index query is eventually consistent (half a
read unit per 4 KB), so a weekly digest over 100,000 runs reads about 3,100 read units, $0.0004 on
demand (`make report` prints what it read). Runs at the edges of a day that the period does not
cover are read and left out here. The index also holds marks (adapters/ledger_marks.py: incidents
opened, alerts muted or held), read in the same queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_marks import run_of_mark
from run_notifier.domain.digest import MARK_STATUSES, LedgerMark, LedgerRun
from run_notifier.domain.isotime import parse_iso

INDEX = "RunsByDay"


def days_of(start: datetime, end: datetime) -> list[str]:
    """The UTC days [start, end) touches, as `finishDay` values."""
    day, last = start.date(), (end - timedelta(microseconds=1)).date()
    days = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


class LedgerByDay:
    """The runs (and marks) by the UTC day they finished: the RunsByDay index, one query per day a period touches."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def runs_finished(
        self, start: datetime, end: datetime, on_day: Callable[[int, int], None] | None = None
    ) -> Iterator[LedgerRun]:
        """The runs whose finish is in [start, end) (aware datetimes). ``on_day(done, of)`` after each day read."""
        for entry in self.entries(start, end, on_day):
            if isinstance(entry, LedgerRun):
                yield entry

    def read(
        self, start: datetime, end: datetime, on_day: Callable[[int, int], None] | None = None
    ) -> tuple[list[LedgerRun], list[LedgerMark]]:
        """The runs and the marks of [start, end), in one pass over its days."""
        runs: list[LedgerRun] = []
        marks: list[LedgerMark] = []
        for entry in self.entries(start, end, on_day):
            (runs if isinstance(entry, LedgerRun) else marks).append(entry)  # type: ignore[arg-type]
        return runs, marks

    def entries(
        self, start: datetime, end: datetime, on_day: Callable[[int, int], None] | None = None
    ) -> Iterator[LedgerRun | LedgerMark]:
        """Every run and mark item of [start, end), a day's query at a time; ``progress(done, days)`` after each day."""
        days = days_of(start, end)
        for index, day in enumerate(days):
            for item in self._table.query_all(INDEX, "finishDay", day):
                entry = ledger_mark(item) if item.get("status") in MARK_STATUSES else ledger_run(item)
                if entry is not None and start <= _when(entry) < end:
                    yield entry
            if on_day is not None:
                on_day(index + 1, len(days))


def _when(entry: LedgerRun | LedgerMark) -> datetime:
    return entry.finished_at if isinstance(entry, LedgerRun) else entry.at


def _key(item: dict[str, Any]) -> str:
    task, actor = item.get("actorTaskId"), item.get("actId")
    return f"task:{task}" if task else f"actor:{actor}"


def ledger_mark(item: dict[str, Any]) -> LedgerMark | None:
    """An index entry as a mark (an incident's event, a muted or held alert); None for a run."""
    at = parse_iso(item.get("finishedAt"))
    if at is None:
        return None
    return LedgerMark(str(item["status"]), _key(item), at, run_of_mark(str(item.get("runId", ""))))


def ledger_run(item: dict[str, Any]) -> LedgerRun | None:
    """A run item (as the index projects it) as the digest reads it; None without a usable finish."""
    finished = parse_iso(item.get("finishedAt"))
    if finished is None:
        return None
    task, actor = item.get("actorTaskId"), item.get("actId")
    key = _key(item)
    usd = item.get("usageTotalUsd")
    health = item.get("health")
    return LedgerRun(
        run_id=str(item.get("runId")),
        key=key,
        name=str(item.get("actorName") or task or actor),
        status=str(item.get("status")),
        finished_at=finished,
        duration_secs=_float(item.get("durationSecs")),
        usd=_float(usd) if item.get("costsSettled") and usd is not None else None,  # hidden or unsettled: unknown
        items=int(item["itemCount"]) if item.get("itemCount") is not None else None,
        health=str(health.get("verdict")) if isinstance(health, dict) and health.get("verdict") else None,
        act_id=str(actor) if actor else None,
        task_id=str(task) if task else None,
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(Decimal(str(value)))
