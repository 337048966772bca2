"""`make report`: the fleet's table from the runs table's RunsByDay index, reconciled with the ledger itself."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

from conftest import run_script
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.run_ledger import DynamoRunLedger
from run_notifier.domain.mutes import Mute
from run_notifier.domain.run_summary import RunSummary

from localdev.aws import aws_env
from tests.integration.ledger_totals import table_totals


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seed(aws_session, resources) -> None:
    """A week and a bit of runs of three Actors (one through a task), some costs hidden or unsettled,
    recorded through the ledger as the watcher records them; and items that are not runs."""
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    ledger = DynamoRunLedger(table, ttl_days=90)
    now = datetime.now(UTC)
    for i in range(60):
        finished = now - timedelta(hours=3 * i + 1)  # back to 7.5 days: the oldest fall outside 7d
        status = ("SUCCEEDED", "SUCCEEDED", "FAILED", "TIMED-OUT")[i % 4]
        summary = RunSummary(
            run_id=f"RunRep{i:010d}",
            status=status,
            act_id=("ActA0000000000001", "ActB0000000000002", "ActC0000000000003")[i % 3],
            actor_task_id="TaskC000000000003" if i % 3 == 2 else None,
            actor_name=("scraper-a", "scraper-b", "loader-c")[i % 3],
            usage_total_usd=None if i % 7 == 0 else round(0.01 * (i + 1), 4),  # hidden by Apify
            started_at=_iso(finished - timedelta(seconds=60 + i)),
            finished_at=_iso(finished),
        )
        muted = Mute("task:TaskC000000000003", _iso(now), "quiet, please") if i in (2, 5) else None
        ledger.record(summary, now=now, attempts=1, first_seen_at=None, costs_settled=i % 5 != 0, muted_by=muted)
    table.update("incident#0#actor:ActA0000000000001", "SET #g = :g", {"#g": "generation"}, {":g": "x"})


def test_the_report_reads_the_period_and_its_totals_equal_the_ledgers(aws_session, resources, moto_endpoint, tmp_path):
    _seed(aws_session, resources)
    env = {**os.environ, **aws_env(moto_endpoint)}
    answer = run_script("report", ["--table-name", resources.table_name, "--since", "7d", "--format", "json"], env)
    assert answer.returncode == 0, answer.stderr
    since = datetime.fromisoformat(json.loads(answer.stdout)["start"])
    report = json.loads(answer.stdout)
    expected = table_totals(aws_session, resources.table_name, since)
    assert report["totals"]["runs"] == expected["runs"] < 60  # the older runs are left out
    assert report["totals"]["failed"] == expected["failures"]
    assert report["totals"]["costUnavailable"] == expected["costUnavailable"] > 0  # never counted as $0
    assert abs(report["totals"]["usd"] - expected["settledUsd"]) < 1e-6
    assert {line["key"] for line in report["lines"]} == {
        "actor:ActA0000000000001",
        "actor:ActB0000000000002",
        "task:TaskC000000000003",
    }
    assert sum(line["runs"] for line in report["lines"]) == expected["runs"]
    # two muted runs are marks beside the runs: counted on their line, never as runs
    assert [line["alertsMuted"] for line in report["lines"] if line["key"] == "task:TaskC000000000003"] == [2]
    assert re.search(r"reading .* ([78])/\1 days", answer.stderr)  # the UTC days a 7-day period touches, once each


def test_the_table_csv_and_plot_and_a_clear_error_for_a_bad_period(aws_session, resources, moto_endpoint, tmp_path):
    _seed(aws_session, resources)
    env = {**os.environ, **aws_env(moto_endpoint)}
    plot = tmp_path / "report.png"
    table = run_script(
        "report", ["--table-name", resources.table_name, "--actor", "ActB0000000000002", "--plot", str(plot)], env
    )
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert rows[0].split()[:2] == ["Actor", "/"]
    assert rows[1].startswith("scraper-b")
    assert rows[-1].startswith("total")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = run_script("report", ["--table-name", resources.table_name, "--format", "csv"], env)
    assert csv.stdout.splitlines()[0].startswith("key,name,runs,succeeded,failed")
    bad = run_script("report", ["--table-name", resources.table_name, "--since", "last week"], env)
    assert bad.returncode == 2
    assert "--since takes hours or days, like 24h or 7d" in bad.stderr


def test_the_documented_make_command_with_a_table_name_runs(aws_session, resources, moto_endpoint):
    """deploy-and-operate.md offers `REPORT_ARGS="--table-name ..."`: the Makefile's default STACK must not
    come with it (`--table-name` and `--stack-name` exclude each other: it exited 2)."""
    import subprocess

    from conftest import ROOT

    _seed(aws_session, resources)
    env = {**os.environ, **aws_env(moto_endpoint)}
    answer = subprocess.run(
        ["make", "--no-print-directory", "report", f"REPORT_ARGS=--table-name {resources.table_name} --format json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert "--stack-name" not in answer.stdout.splitlines()[0]  # make echoes the command it runs
    report = json.loads(answer.stdout[answer.stdout.index("{") :])
    assert report["totals"]["runs"] > 0
