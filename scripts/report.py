"""`make report SINCE=7d`: what the fleet did and cost, from the runs table, in the terminal.

    python -m scripts.report --since 7d [--stack-name NAME | --table-name T] [--actor ID]
                             [--format table|csv|json] [--plot FILE.png]

The same lines a digest posts (domain/digest.py): per Actor task (else Actor), runs by status,
success rate, settled USD (runs whose cost Apify hides, or not yet settled, counted as "cost
unavailable", never as $0), p50/p95 duration, items, failures, and a sparkline of runs per day;
sorted by what needs attention. It reads only the days the period touches (the `RunsByDay`
index), showing a progress bar while it does, and prints what the reads cost. `--plot` writes runs,
failures and settled cost per day per Actor. The local stack's table works too: point
`AWS_ENDPOINT_URL` at moto and pass `--table-name`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_by_day import LedgerByDay
from run_notifier.domain.digest import Digest, DigestLine, LedgerMark, LedgerRun, build_digest
from run_notifier.domain.run_summary import human_duration

from scripts.aws_cli import Problem, aws_problem, session
from scripts.mute import DEFAULT_STACK, table_from_stack

SINCE = re.compile(r"^(\d{1,3})([hd])$")
FORMATS = ("table", "csv", "json")
#: What one projected run item weighs in the index (names and values), for the read cost printed.
ITEM_BYTES = 250


def since_of(text: str) -> timedelta:
    matched = SINCE.fullmatch(text.strip())
    if matched is None:
        raise Problem(f"--since takes hours or days, like 24h or 7d, got {text!r}")
    amount, unit = int(matched.group(1)), matched.group(2)
    if amount == 0 or (unit == "d" and amount > 366):
        raise Problem(f"--since must be between 1h and 366d, got {text!r}")
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="What the fleet did and cost, from the runs table.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--table-name", help="the stack's RunsTableName output (or a local table)")
    where.add_argument("--stack-name", default=DEFAULT_STACK, help=f"the notifier's stack (default {DEFAULT_STACK})")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")
    parser.add_argument("--profile", help="AWS profile (default: your AWS configuration)")
    parser.add_argument("--since", default="7d", help="how far back: 24h, 7d, 30d (default 7d)")
    parser.add_argument("--actor", help="only this Actor (its ID) or Actor task (its ID)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--plot", help="write runs, failures and cost per day per Actor to this PNG")
    args = parser.parse_args(argv)
    try:
        period = since_of(args.since)
        end = datetime.now(UTC)
        start = end - period
        aws = session(args.region, args.profile)
        table = args.table_name or table_from_stack(aws.client("cloudformation"), args.stack_name)
        runs, marks = _read(LedgerByDay(RunsTable(aws.client("dynamodb"), table)), start, end, args.actor)
    except Problem as problem:
        print(f"report: {problem}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"report: {aws_problem(error, 'reading the runs table')}", file=sys.stderr)
        return 2
    digest = build_digest(runs, [], start, end, marks)
    if digest is None:
        print(f"report: no runs finished in the last {args.since}", file=sys.stderr)
        return 0
    print(render(digest, args.format), end="")
    if args.plot:
        plot(runs, digest, Path(args.plot))
        print(f"report: plot written to {args.plot}", file=sys.stderr)
    units = max(1, round(len(runs) * ITEM_BYTES / 4096 / 2))
    print(f"report: read {len(runs):,} runs, about {units:,} read units", file=sys.stderr)
    return 0


def _read(
    ledger: LedgerByDay, start: datetime, end: datetime, actor: str | None
) -> tuple[list[LedgerRun], list[LedgerMark]]:
    def progress(done: int, of: int) -> None:
        width = 30
        filled = round(width * done / of)
        print(f"\rreading {'█' * filled}{'·' * (width - filled)} {done}/{of} days", end="", file=sys.stderr)
        if done == of:
            print(file=sys.stderr)

    runs, marks = ledger.read(start, end, on_day=progress)
    if not actor:
        return runs, marks
    wanted = {f"actor:{actor}", f"task:{actor}"}
    return [r for r in runs if r.key in wanted], [m for m in marks if m.key in wanted]


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _row(line: DigestLine) -> dict[str, Any]:
    return {
        "key": line.key,
        "name": line.name,
        "runs": line.runs,
        "succeeded": line.by_status.get("SUCCEEDED", 0),
        "failed": line.failures,
        "warn": line.warns,
        "successRate": round(line.success_rate, 4),
        "usd": round(line.usd, 6),
        "costUnavailable": line.cost_unavailable,
        "p50Secs": line.p50_secs,
        "p95Secs": line.p95_secs,
        "items": line.items,
        "runsPerDay": list(line.runs_per_day),
        "failuresPerDay": list(line.failures_per_day),
        "incidentsOpened": line.incidents.opened,
        "alertsMuted": line.muted,
        "alertsHeldQuiet": line.held,
    }


def render(digest: Digest, fmt: str) -> str:
    rows = [_row(line) for line in digest.lines]
    totals = {
        "runs": digest.runs,
        "failed": digest.failures,
        "usd": round(digest.usd, 6),
        "costUnavailable": digest.cost_unavailable,
    }
    if fmt == "json":
        document = {"start": digest.start.isoformat(), "end": digest.end.isoformat(), "lines": rows, "totals": totals}
        return json.dumps(document, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[k for k in rows[0] if not k.endswith("PerDay")])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v for k, v in row.items() if not k.endswith("PerDay")})
        return out.getvalue()
    header = (
        "Actor / task",
        "runs",
        "ok %",
        "failed",
        "warn",
        "settled USD",
        "no cost",
        "p50",
        "p95",
        "items",
        "incidents",
        "held",
        "runs/day",
    )
    body = [
        (
            line.name[:40],
            f"{line.runs:,}",
            f"{line.success_rate * 100:.0f}",
            f"{line.failures:,}",
            f"{line.warns:,}",
            _usd(line.usd),
            f"{line.cost_unavailable:,}",
            human_duration(line.p50_secs),
            human_duration(line.p95_secs),
            "-" if line.items is None else f"{line.items:,}",
            f"{line.incidents.opened:,}",
            f"{line.muted + line.held:,}",
            line.sparkline,
        )
        for line in digest.lines
    ]
    total = (
        "total",
        f"{digest.runs:,}",
        "",
        f"{digest.failures:,}",
        "",
        _usd(digest.usd),
        f"{digest.cost_unavailable:,}",
        "",
        "",
        "",
        "",
        "",
        "",
    )
    widths = [max(len(str(row[i])) for row in [header, *body, total]) for i in range(len(header))]

    def aligned(row: tuple[str, ...]) -> str:
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells)

    lines = [aligned(row) for row in [header, *body, total]]
    return "\n".join(lines) + "\n"


def plot(runs: list[LedgerRun], digest: Digest, path: Path) -> None:
    """Runs, failures and settled cost per day, one line per Actor task / Actor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = len(digest.lines[0].runs_per_day)
    x = [digest.start + timedelta(days=i) for i in range(days)]
    cost: dict[str, list[float]] = {line.key: [0.0] * days for line in digest.lines}
    for run in runs:
        day = min(days - 1, int((run.finished_at - digest.start) / timedelta(days=1)))
        cost[run.key][day] += run.usd or 0.0
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), dpi=100, sharex=True)
    for line in digest.lines[:12]:
        axes[0].plot(x, line.runs_per_day, marker=".", label=line.name[:30])
        axes[1].plot(x, line.failures_per_day, marker=".")
        axes[2].plot(x, cost[line.key], marker=".")
    for ax, title in zip(axes, ("runs per day", "failed runs per day", "settled USD per day"), strict=True):
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
