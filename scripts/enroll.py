"""make enroll: point Apify's webhooks for the Actors and tasks you name at the notifier's intake.

    APIFY_TOKEN=apify_api_... python scripts/enroll.py --stack-name apify-run-notifier --actor moJRLRc85AitArpNN
    ... --list | --remove [--actor ID ...] | --test

One webhook per Actor or task, for ACTOR.RUN.CREATED, .RESURRECTED and the four terminal
events, `requestUrl` = the stack's `IntakeUrl` + `apify/webhooks`, the intake token in
`headersTemplate` (with `X-Run-Notifier-Push: actor`, which tells the watcher that this
webhook will announce the run's end, so it arms no ad-hoc webhook of its own), a recognisable
description and an `idempotencyKey` (running it twice creates nothing new). The intake token
comes from `INTAKE_TOKEN` or the stack's `IntakeTokenSecretArn`; neither token is ever printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from run_notifier.domain.push import PUSH_HEADER, RESURRECTED_EVENT, TERMINAL_EVENTS, PushMode

#: A run's start, its resurrection and every way it ends (the intake enqueues the run for each).
EVENT_TYPES = ["ACTOR.RUN.CREATED", RESURRECTED_EVENT, *sorted(TERMINAL_EVENTS)]
DESCRIPTION = "apify-run-notifier"
DEFAULT_STACK = "apify-run-notifier"  # samconfig.toml's stack_name


class EnrollError(Exception):
    """A one-line reason for the user."""


class Apify:
    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise EnrollError("APIFY_API_BASE_URL must be https (plain http only to loopback)")
        self._base = base_url.rstrip("/")
        self._token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self._base + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {}
        except OSError as error:
            raise EnrollError(f"cannot reach the Apify API at {urlsplit(self._base).hostname}: {error}") from None


def _error_text(answer: dict[str, Any]) -> str:
    error = answer.get("error") or {}
    return f"{error.get('type', 'unknown')}: {error.get('message', '')}".strip()


def idempotency_key(request_url: str, kind: str, target: str) -> str:
    return hashlib.sha256(f"{DESCRIPTION}|{request_url}|{kind}|{target}".encode()).hexdigest()[:40]


def notifier_webhooks(apify: Apify) -> list[dict[str, Any]]:
    status, answer = apify.call("GET", "/v2/webhooks?limit=1000")
    if status != 200:
        raise EnrollError(f"listing webhooks failed: HTTP {status} {_error_text(answer)}")
    items = answer.get("data", {}).get("items", [])
    # The watcher's per-run ad-hoc webhooks (push) are not enrollments: never listed, never removed here.
    return [w for w in items if str(w.get("description") or "").startswith(DESCRIPTION) and not w.get("isAdHoc")]


def enroll(apify: Apify, intake_url: str, intake_token: str, actors: list[str], tasks: list[str]) -> list[str]:
    request_url = intake_url.rstrip("/") + "/apify/webhooks"
    lines = []
    for kind, target in [("actorId", a) for a in actors] + [("actorTaskId", t) for t in tasks]:
        if kind == "actorId":
            status, answer = apify.call("GET", f"/v2/acts/{target}")
            if status == 404:
                raise EnrollError(f"unknown Actor {target}")
            if status != 200:
                raise EnrollError(f"Actor {target}: HTTP {status} {_error_text(answer)}")
        status, answer = apify.call(
            "POST",
            "/v2/webhooks",
            {
                "eventTypes": EVENT_TYPES,
                "condition": {kind: target},
                "requestUrl": request_url,
                "headersTemplate": json.dumps(
                    {"Authorization": f"Bearer {intake_token}", PUSH_HEADER: PushMode.ACTOR.value}
                ),
                "description": f"{DESCRIPTION}: {kind} {target}",
                "idempotencyKey": idempotency_key(request_url, kind, target),
            },
        )
        if status not in (200, 201):
            raise EnrollError(f"creating the webhook for {kind} {target} failed: HTTP {status} {_error_text(answer)}")
        lines.append(f"{kind} {target}: webhook {answer['data']['id']} -> {urlsplit(request_url).hostname}")
    return lines


def _intake_from_stack(stack_name: str, region: str | None, profile: str | None) -> tuple[str, str | None]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(region_name=region, profile_name=profile)
        [stack] = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError, ValueError) as error:
        raise EnrollError(f"stack {stack_name}: {type(error).__name__}: {str(error)[:200]}") from None
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
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(region_name=region, profile_name=profile)
        return session.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"].strip()
    except (ClientError, BotoCoreError, KeyError) as error:
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
        apify = Apify(os.environ.get("APIFY_API_BASE_URL", "https://api.apify.com"), token)
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


def _manage(apify: Apify, args: argparse.Namespace) -> int:
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
        elif args.remove:
            status, answer = apify.call("DELETE", f"/v2/webhooks/{webhook['id']}")
            ok = status in (200, 204)
            failed += not ok
            print(f"{webhook['id']}  {condition}: {'removed' if ok else f'HTTP {status} {_error_text(answer)}'}")
        else:
            status, answer = apify.call("POST", f"/v2/webhooks/{webhook['id']}/test")
            dispatch = answer.get("data") or {}
            calls = dispatch.get("calls") or [{}]
            answered = calls[-1].get("responseStatus") or calls[-1].get("errorMessage") or "no answer"
            ok = status in (200, 201) and dispatch.get("status") == "SUCCEEDED"
            failed += not ok
            outcome = dispatch.get("status", status)
            print(f"{webhook['id']}  {condition}: test dispatch {outcome}, intake answered {answered}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
