#!/usr/bin/env python3
"""Mute an Actor's or a task's chat alerts for a while, list the mutes, or lift one.

    python -m scripts.mute --actor janedoe~web-scraper --for 2h --reason "site redesign, fixing"
    python -m scripts.mute --task Tk0123456789abcde --for 30m
    python -m scripts.mute --list
    python -m scripts.mute --unmute --actor janedoe~web-scraper
    (add --stack-name / --region / --profile, or --table-name for a table of your own)

A muted run is still recorded (its item says `mutedBy`), counted, and announced to the webhook,
EventBridge, PagerDuty and follow-ups; Slack, Teams and Discord stay silent until the mute ends
(watchers pick up a new mute within 30 s). Exit code 0 when done, 1 for an unmute of a subject
that has no mute, 2 for a problem to fix first: one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from run_notifier.domain.isotime import format_iso
from run_notifier.domain.mutes import InvalidMute, Mute, duration_of, reason_of, subject_of

from scripts.aws_cli import Problem, aws_problem, session

TABLE_OUTPUT = "RunsTableName"
DEFAULT_STACK = "apify-run-notifier"  # samconfig.toml's stack_name


def table_from_stack(cloudformation: Any, stack_name: str) -> str:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == TABLE_OUTPUT:
            return str(output["OutputValue"])
    raise Problem(f"stack {stack_name} has no {TABLE_OUTPUT} output: is it the notifier's stack?")


def _mutes(args: argparse.Namespace) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError
    from run_notifier.adapters.dynamodb import RunsTable
    from run_notifier.adapters.mute_store import DynamoMutes

    try:
        aws = session(args.region, args.profile)
        table = args.table_name or table_from_stack(aws.client("cloudformation"), args.stack_name)
    except (BotoCoreError, ClientError) as error:
        raise aws_problem(error, f"finding the runs table of stack {args.stack_name}") from None
    return DynamoMutes(RunsTable(aws.client("dynamodb"), table), lambda: datetime.now(UTC))


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    parser = argparse.ArgumentParser(description="Mute an Actor's or task's chat alerts for a while.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--table-name", help="the stack's RunsTableName output")
    where.add_argument("--stack-name", default=DEFAULT_STACK, help=f"the notifier's stack (default {DEFAULT_STACK})")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")
    parser.add_argument("--profile", help="AWS profile (default: your AWS configuration)")
    parser.add_argument("--actor", help="an Actor ID or username~name")
    parser.add_argument("--task", help="an Actor task ID")
    parser.add_argument("--for", dest="duration", help="how long: 90s, 30m, 2h, 7d (at most 30 days)")
    parser.add_argument("--reason", help="why (shown by --list and written on each muted run)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the mutes")
    action.add_argument("--unmute", action="store_true", help="lift the mute of --actor or --task")
    args = parser.parse_args(argv)
    try:
        if args.list:
            return _list(_mutes(args))
        subject = subject_of(args.actor, args.task)
        if args.unmute:
            if not _mutes(args).remove(subject):
                print(f"mute: {subject} has no mute", file=sys.stderr)
                return 1
            print(f"unmuted {subject}")
            return 0
        if not args.duration:
            raise InvalidMute("say how long with --for (for example --for 2h)")
        now = datetime.now(UTC)
        mute = Mute(subject, format_iso(now + duration_of(args.duration)), reason_of(args.reason), format_iso(now))
        _mutes(args).add(mute)
    except (InvalidMute, Problem) as problem:
        print(f"mute: {problem}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"mute: {aws_problem(error, 'writing the mute')}", file=sys.stderr)
        return 2
    print(f"muted {mute.subject} until {mute.until}" + (f" ({mute.reason})" if mute.reason else ""))
    return 0


def _list(mutes: Any) -> int:
    now = datetime.now(UTC)
    found = mutes.all()
    if not found:
        print("no mutes")
    for mute in found:
        state = "active" if mute.active(now) else "ended"
        print(f"{mute.subject}\tuntil {mute.until}\t{state}\t{mute.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
