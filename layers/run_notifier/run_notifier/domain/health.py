"""Health checks: judge a SUCCEEDED run by what it produced, against fixed limits and its own history.

A run can say SUCCEEDED and still be wrong: 0 items after a site changed its markup, 8× its usual
cost from a loop, six hours instead of ten minutes. A route opts in with
`"expect": {"minItems": 1, "maxItems": …, "maxDurationSecs": …, "maxUsd": …, "anomalies": true}`.

Fixed limits are checked whenever the value is known. Anomalies compare the run's items, duration
and settled cost with the last `HISTORY` SUCCEEDED runs of the same Actor task (else Actor):

- in log space (durations and costs are roughly log-normal, and a run at 2× its usual is as odd at
  $0.01 as at $100), with the median and the median absolute deviation (MAD), which a few outliers
  in the history do not move; a run is anomalous when its modified z-score
  (0.6745 · (x − median) / MAD, Iglewicz and Hoaglin) passes `Z_LIMIT` and it differs from the
  median by at least `MIN_RATIO` and by an absolute floor (`FLOORS`), so that tiny values and a
  very steady history do not alarm;
- silent (UNKNOWN) with fewer than `MIN_HISTORY` runs;
- a run already judged anomalous on a metric is left out of that metric's baseline, so outliers do
  not poison it; but an anomalous run whose last `SHIFT_AFTER` runs were already nearer its level
  than the baseline's (flagged or not) marks the Actor's new normal (a level shift): the run is OK,
  and the baseline starts again from those runs (UNKNOWN on that metric until it has
  `MIN_HISTORY`).

Items are judged both ways (0 items is the case that matters most, a sudden 10× can be a loop);
duration and cost only upwards (a faster, cheaper run is no problem of its own; if it produced
nothing, the items say so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from run_notifier.domain.isotime import human_duration

#: SUCCEEDED runs of history an anomaly is judged against.
HISTORY = 20
#: Fewer runs than this: no anomaly is judged (UNKNOWN).
MIN_HISTORY = 10
#: The modified z-score past which a value is anomalous.
Z_LIMIT = 3.5
#: ... and it must differ from the median by at least this factor (either way: half or double; a
#: weekly rhythm, such as a weekend dip in items, stays inside it).
MIN_RATIO = 2.0
#: ... and by at least this much, per metric (items, seconds, USD).
FLOORS: Mapping[str, float] = {"items": 10.0, "duration": 60.0, "cost": 0.01}
#: An anomalous run whose last this many runs were already at its level (flagged or not): a new normal.
SHIFT_AFTER = 2
#: Metrics, and the directions in which each is judged.
DIRECTIONS: Mapping[str, tuple[str, ...]] = {"items": ("low", "high"), "duration": ("high",), "cost": ("high",)}
#: Added before taking logs (log(x + offset)), per metric: keeps 0 finite and small costs in log scale.
OFFSETS: Mapping[str, float] = {"items": 1.0, "duration": 1.0, "cost": 0.001}
#: A MAD of 0 (a perfectly steady history) is read as this much spread in log space (≈ ±5 %).
MIN_LOG_SPREAD = 0.05

OK = "OK"
WARN = "WARN"
UNKNOWN = "UNKNOWN"


class Expectation(NamedTuple):
    """A route's `expect`: fixed limits (None: not checked) and whether anomalies are judged."""

    min_items: int | None = None
    max_items: int | None = None
    max_duration_secs: float | None = None
    max_usd: float | None = None
    anomalies: bool = True


class Measured(NamedTuple):
    """What a run produced; None where unknown (no dataset, costs not settled, no finish time)."""

    items: int | None
    duration: float | None
    cost: float | None

    def of(self, metric: str) -> float | None:
        """The measured value of one metric (items, duration, usd); None when unknown."""
        value = {"items": self.items, "duration": self.duration, "cost": self.cost}[metric]
        return None if value is None else float(value)


class PastRun(NamedTuple):
    """A SUCCEEDED run of the history, oldest first; `flags` = how its own judgement marked each metric
    ("low", "high": anomalous; "shift": the run that confirmed a new normal)."""

    measured: Measured
    flags: Mapping[str, str]


class Check(NamedTuple):
    """One check's result: what was measured, against what, and whether it failed."""

    name: str
    value: float | None
    expected: str
    baseline: float | None = None
    #: "low" / "high": failed that way; "shift": a new normal; "": passed.
    flag: str = ""
    #: Failing this check makes the run WARN.
    failed: bool = False


class Health(NamedTuple):
    """A run's health: its verdict (OK / WARN / UNKNOWN) and the checks behind it."""

    verdict: str
    checks: tuple[Check, ...]

    def flags(self) -> dict[str, str]:
        """Per metric, how this judgement marks the run for the baselines of the runs after it."""
        return {
            c.name.removeprefix("anomaly:"): c.flag for c in self.checks if c.name.startswith("anomaly:") and c.flag
        }

    def headline(self) -> str | None:
        """The first failed check in words ("0 items, usually ~1,200"); None when nothing failed."""
        for check in self.checks:
            if check.failed:
                return describe(check)
        return None

    def as_item(self) -> dict[str, Any]:
        """The ledger's and the payloads' `health`."""
        return {
            "verdict": self.verdict,
            "checks": [
                {"name": c.name, "value": c.value, "expected": c.expected, "baseline": c.baseline}
                | ({"flag": c.flag} if c.flag else {})
                for c in self.checks
            ],
        }


def judge(measured: Measured, expect: Expectation, history: Sequence[PastRun]) -> Health:
    """The verdict on a SUCCEEDED run: WARN when any check failed; UNKNOWN when anomalies are on and
    could not be judged (too little history, or a value unknown) and nothing failed; else OK."""
    checks = list(_fixed(measured, expect))
    unjudged = False
    if expect.anomalies:
        for metric in DIRECTIONS:
            check = _anomaly(metric, measured.of(metric), history)
            if check is None:
                unjudged = True
            else:
                checks.append(check)
    if any(c.failed for c in checks):
        return Health(WARN, tuple(checks))
    return Health(UNKNOWN if unjudged else OK, tuple(checks))


def _fixed(measured: Measured, expect: Expectation) -> list[Check]:
    limits = [
        ("minItems", measured.items, expect.min_items, "low"),
        ("maxItems", measured.items, expect.max_items, "high"),
        ("maxDurationSecs", measured.duration, expect.max_duration_secs, "high"),
        ("maxUsd", measured.cost, expect.max_usd, "high"),
    ]
    checks = []
    for name, value, limit, way in limits:
        if limit is None or value is None:
            continue
        failed = value < limit if way == "low" else value > limit
        expected = f"≥ {limit:g}" if way == "low" else f"≤ {limit:g}"
        checks.append(Check(name, float(value), expected, None, way if failed else "", failed))
    return checks


def _anomaly(metric: str, value: float | None, history: Sequence[PastRun]) -> Check | None:
    """The metric's anomaly check; None when it cannot be judged."""
    if value is None:
        return None
    baseline = baseline_values(metric, history)
    if len(baseline) < MIN_HISTORY:
        return None
    offset = OFFSETS[metric]
    logs = [math.log(v + offset) for v in baseline]
    center = _median(logs)
    spread = max(_median([abs(x - center) for x in logs]), MIN_LOG_SPREAD)
    z = 0.6745 * (math.log(value + offset) - center) / spread
    median = math.exp(center) - offset
    way = "high" if value > median else "low"
    anomalous = (
        way in DIRECTIONS[metric]
        and abs(z) > Z_LIMIT
        and _ratio(value, median) >= MIN_RATIO
        and abs(value - median) >= FLOORS[metric]
    )
    expected = f"~{_plain(median)} (z {z:+.1f}, limit ±{Z_LIMIT:g})"
    name = f"anomaly:{metric}"
    if not anomalous:
        return Check(name, value, expected, round(median, 6))
    if _at_new_level(metric, value, median, history):
        return Check(name, value, expected, round(median, 6), "shift")
    return Check(name, value, expected, round(median, 6), way, True)


def baseline_values(metric: str, history: Sequence[PastRun]) -> list[float]:
    """The metric's baseline: the last `HISTORY` known values since the last level shift (from the runs
    that were already at the new level), leaving out runs judged anomalous on it."""
    start = 0
    for index in range(len(history) - 1, -1, -1):
        if history[index].flags.get(metric) == "shift":
            start = max(0, index - SHIFT_AFTER)
            break
    values = []
    for past in history[start:]:
        value = past.measured.of(metric)
        if value is not None and past.flags.get(metric) not in ("low", "high"):
            values.append(value)
    return values[-HISTORY:]


def _at_new_level(metric: str, value: float, median: float, history: Sequence[PastRun]) -> bool:
    """The last `SHIFT_AFTER` runs are nearer this value than the baseline's median (in log space), and
    past it on the same side: the Actor's normal moved, this run is not a one-off."""
    recent = [past.measured.of(metric) for past in history[-SHIFT_AFTER:]]
    if len(recent) < SHIFT_AFTER or any(r is None for r in recent):
        return False
    offset = OFFSETS[metric]
    target, center = math.log(value + offset), math.log(median + offset)
    return all(
        abs(math.log(r + offset) - target) < abs(math.log(r + offset) - center) and (r - median) * (value - median) > 0
        for r in recent
        if r is not None
    )


def _ratio(a: float, b: float) -> float:
    low, high = sorted((abs(a), abs(b)))
    return math.inf if low == 0 else high / low


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _plain(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


UNITS = {"items": " items", "duration": " s", "cost": " USD"}
FIXED_METRIC = {"minItems": "items", "maxItems": "items", "maxDurationSecs": "duration", "maxUsd": "cost"}


def describe(check: Check) -> str:
    """A failed check in words: "0 items, usually ~1,200" or "412 s, limit ≤ 300"."""
    metric = check.name.removeprefix("anomaly:")
    metric = FIXED_METRIC.get(metric, metric)
    value = "unknown" if check.value is None else _amount(metric, check.value)
    if check.baseline is not None:
        return f"{value}, usually ~{_amount(metric, check.baseline)}"
    return f"{value}, expected {check.expected}"


def _amount(metric: str, value: float) -> str:
    if metric == "cost":
        return f"${value:,.2f}" if value >= 0.01 else f"${value:.4f}"
    if metric == "duration":
        return f"{value:,.0f} s"
    return f"{value:,.0f} items"


#: A run is not called stuck sooner than this on its history alone (`expect.maxDurationSecs` may say sooner).
STUCK_FLOOR_SECS = 600.0


class StuckAlert(NamedTuple):
    """A run still going past its limit: how long so far, the limit, and its history's usual (p95)."""

    running_secs: float
    limit_secs: float
    usual_secs: float | None

    def words(self) -> str:
        """The alert's words: how long so far, the limit, and the usual."""
        usual = f", usually done within {human_duration(self.usual_secs)}" if self.usual_secs else ""
        return f"running for {human_duration(self.running_secs)} (limit {human_duration(self.limit_secs)}{usual})"


def stuck_limit(expect: Expectation, durations: Sequence[float]) -> tuple[float, float | None] | None:
    """When a run of this expectation is stuck: `maxDurationSecs`, or (anomalies on, with `MIN_HISTORY`
    durations) twice the history's p95 but never under `STUCK_FLOOR_SECS`, whichever comes first; with
    the p95 (None without history). None: never called stuck."""
    limits: list[float] = [expect.max_duration_secs] if expect.max_duration_secs is not None else []
    usual = None
    if expect.anomalies and len(durations) >= MIN_HISTORY:
        ordered = sorted(durations)
        usual = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
        limits.append(max(2 * usual, STUCK_FLOOR_SECS))
    return (min(limits), usual) if limits else None


def health_of_item(raw: Mapping[str, Any]) -> Health:
    """`Health.as_item()` read back (from the ledger, for a redelivery of the same finish)."""
    checks = []
    for check in raw.get("checks") or []:
        value, baseline = check.get("value"), check.get("baseline")
        flag = str(check.get("flag") or "")
        checks.append(
            Check(
                str(check.get("name")),
                None if value is None else float(value),
                str(check.get("expected", "")),
                None if baseline is None else float(baseline),
                flag,
                bool(flag) and flag != "shift",
            )
        )
    return Health(str(raw.get("verdict", UNKNOWN)), tuple(checks))
