"""make enroll: point Apify's webhooks for the Actors and tasks you name at the notifier's intake.

    APIFY_TOKEN=apify_api_... make enroll ENROLL_ARGS="--actor moJRLRc85AitArpNN"
    (python -m scripts.enroll --stack-name apify-run-notifier --actor ...)
    ... --list | --remove [--actor ID ...] | --test

The webhook's body is the layer's (adapters/apify_webhooks.py, shared with the watcher's ad-hoc
webhooks), and every Apify call goes through the layer's client (deadlines, retries, errors).

One webhook per Actor or task, for ACTOR.RUN.CREATED, .RESURRECTED and the four terminal
events, `requestUrl` = the stack's `IntakeUrl` + `apify/webhooks`, the intake token in
`headersTemplate` (with `X-Run-Notifier-Push: actor`, which tells the watcher that this
webhook will announce the run's end, so it arms no ad-hoc webhook of its own), a recognisable
description and an `idempotencyKey` (running it twice creates nothing new). The intake token
comes from `INTAKE_TOKEN` or the stack's `IntakeTokenSecretArn`; neither token is ever printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.adapters.apify_webhooks import DESCRIPTION, intake_webhook_url, key_of, webhook_spec
from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import Secret
from run_notifier.adapters.url_policy import UrlRefused, check_url
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import ApifyError, RunNotFound
from run_notifier.domain.push import RESURRECTED_EVENT, TERMINAL_EVENTS, PushMode

from scripts.aws_cli import aws_problem, session

#: A run's start, its resurrection and every way it ends (the intake enqueues the run for each).
EVENT_TYPES = ["ACTOR.RUN.CREATED", RESURRECTED_EVENT, *sorted(TERMINAL_EVENTS)]
DEFAULT_STACK = "apify-run-notifier"  # samconfig.toml's stack_name
#: Each Apify call gets this long (429/5xx retried within it by the layer's client).
CALL_SECS = 60.0


class EnrollError(Exception):
    """A one-line reason for the user."""


def apify_client(base_url: str, token: str) -> ApifyClient:
    """The layer's Apify client (deadlines, retries, Apify's errors), for a command line: https, or
    plain http to loopback (a local simulator)."""
    try:
        check_url(base_url, allow_loopback_http=True)
    except UrlRefused as error:
        raise EnrollError(f"APIFY_API_BASE_URL {error}") from None
    return ApifyClient(base_url, lambda: Secret(token), HttpClient(pool_size=2))


def _deadline() -> Deadline:
    return Deadline.after(CALL_SECS)


def idempotency_key(request_url: str, kind: str, target: str) -> str:
    return key_of(DESCRIPTION, request_url, kind, target)


def notifier_webhooks(apify: ApifyClient) -> list[dict[str, Any]]:
    try:
        items = apify.list_webhooks(_deadline())
    except ApifyError as error:
        raise EnrollError(f"listing webhooks failed: {error}") from None
    # The watcher's per-run ad-hoc webhooks (push) are not enrollments: never listed, never removed here.
    return [w for w in items if str(w.get("description") or "").startswith(DESCRIPTION) and not w.get("isAdHoc")]


def enroll(apify: ApifyClient, intake_url: str, intake_token: str, actors: list[str], tasks: list[str]) -> list[str]:
    request_url = intake_webhook_url(intake_url)
    lines = []
    for kind, target in [("actorId", a) for a in actors] + [("actorTaskId", t) for t in tasks]:
        try:
            if kind == "actorId":
                apify.get_actor(target, _deadline())
        except RunNotFound:
            raise EnrollError(f"unknown Actor {target}") from None
        except ApifyError as error:
            raise EnrollError(f"Actor {target}: {error}") from None
        spec = webhook_spec(
            condition={kind: target},
            request_url=request_url,
            intake_token=intake_token,
            push_mode=PushMode.ACTOR,
            event_types=EVENT_TYPES,
            idempotency_key=idempotency_key(request_url, kind, target),
            description=f"{kind} {target}",
        )
        try:
            webhook = apify.create_webhook(spec, _deadline())
        except ApifyError as error:
            raise EnrollError(f"creating the webhook for {kind} {target} failed: {error}") from None
        lines.append(f"{kind} {target}: webhook {webhook.get('id')} -> {urlsplit(request_url).hostname}")
    return lines


def _intake_from_stack(stack_name: str, region: str | None, profile: str | None) -> tuple[str, str | None]:
    try:
        [stack] = session(region, profile).client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore's, as one line
        raise EnrollError(str(aws_problem(error, f"stack {stack_name}"))) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    if "IntakeUrl" not in outputs:
        raise EnrollError(f"stack {stack_name} has no IntakeUrl output: deploy it with IntakeTokenSecretArn set")
    return outputs["IntakeUrl"], parameters.get("IntakeTokenSecretArn") or None


def _intake_token(secret_arn: str | None, region: str | None, profile: str | None) -> str:
    if os.environ.get("INTAKE_TOKEN"):
        return os.environ["INTAKE_TOKEN"]
    if not secret_arn:
        raise EnrollError("no intake token: set INTAKE_TOKEN or pass --intake-token-secret-arn")
    try:
        secrets = session(region, profile).client("secretsmanager")
        return str(secrets.get_secret_value(SecretId=secret_arn)["SecretString"]).strip()
    except Exception as error:  # botocore's; never the secret
        raise EnrollError(f"cannot read the intake token secret: {type(error).__name__}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create, list, test or remove the notifier's Apify webhooks.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack-name", help="the deployed stack (its IntakeUrl output)")
    where.add_argument("--intake-url", help="the intake's URL, e.g. https://abc.lambda-url.eu-west-1.on.aws/")
    parser.add_argument("--intake-token-secret-arn", help="else INTAKE_TOKEN, else the stack's IntakeTokenSecretArn")
    parser.add_argument("--region")
    parser.add_argument("--profile")
    parser.add_argument("--actor", action="append", default=[], help="an Actor ID (repeatable)")
    parser.add_argument("--task", action="append", default=[], help="a task ID (repeatable)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="show the notifier's webhooks")
    action.add_argument("--remove", action="store_true", help="delete them (only the named Actors/tasks if given)")
    action.add_argument("--test", action="store_true", help="fire Apify's test dispatch and show the intake's answer")
    args = parser.parse_args(argv)
    try:
        token = os.environ.get("APIFY_TOKEN", "").strip()
        if not token:
            raise EnrollError("APIFY_TOKEN is not set (an Apify API token with access to the Actors)")
        apify = apify_client(os.environ.get("APIFY_API_BASE_URL", "https://api.apify.com"), token)
        if args.list or args.remove or args.test:
            return _manage(apify, args)
        if not (args.actor or args.task):
            raise EnrollError("name at least one --actor or --task to enroll")
        intake_url, secret_arn = args.intake_url, args.intake_token_secret_arn
        if not intake_url:  # the stack's IntakeUrl: --stack-name, else samconfig.toml's stack
            stack = args.stack_name or DEFAULT_STACK
            intake_url, stack_secret = _intake_from_stack(stack, args.region, args.profile)
            secret_arn = secret_arn or stack_secret
        for line in enroll(
            apify, intake_url, _intake_token(secret_arn, args.region, args.profile), args.actor, args.task
        ):
            print(line)
    except EnrollError as error:
        print(f"enroll: {error}", file=sys.stderr)
        return 2
    return 0


def _manage(apify: ApifyClient, args: argparse.Namespace) -> int:
    webhooks = notifier_webhooks(apify)
    named = {("actorId", a) for a in args.actor} | {("actorTaskId", t) for t in args.task}
    if named:
        webhooks = [w for w in webhooks if any((k, v) in named for k, v in (w.get("condition") or {}).items())]
    if not webhooks:
        print("no notifier webhooks")
        return 0
    failed = 0
    for webhook in webhooks:
        condition = ", ".join(f"{k} {v}" for k, v in (webhook.get("condition") or {}).items() if v)
        where = urlsplit(str(webhook.get("requestUrl"))).hostname
        if args.list:
            print(f"{webhook['id']}  {condition}  -> {where}")
            continue
        try:
            if args.remove:
                apify.delete_webhook(str(webhook["id"]), _deadline())
                print(f"{webhook['id']}  {condition}: removed")
                continue
            dispatch = apify.test_webhook(str(webhook["id"]), _deadline())
        except ApifyError as error:
            failed += 1
            print(f"{webhook['id']}  {condition}: {error}")
            continue
        calls = dispatch.get("calls") or [{}]
        answered = calls[-1].get("responseStatus") or calls[-1].get("errorMessage") or "no answer"
        failed += dispatch.get("status") != "SUCCEEDED"
        print(f"{webhook['id']}  {condition}: test dispatch {dispatch.get('status')}, intake answered {answered}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
