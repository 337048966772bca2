"""The composition root: build every component from Settings, with its real type.

The only lazy parts are the AWS clients and Powertools providers that only the finishing
side may need (EventBridge, Secrets Manager, SSM): creating a boto3 client costs tens of
milliseconds of cold start, and an invocation that only re-enqueues never uses them. They
go through one typed mechanism, `adapters.memo.Lazy`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import boto3
from botocore.config import Config

from run_notifier.adapters.actor_names import CachedActorNames
from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.memo import Lazy
from run_notifier.adapters.notification_claims import DynamoNotificationClaims
from run_notifier.adapters.run_ledger import DynamoRunLedger
from run_notifier.adapters.secret_store import Secret, SecretStore
from run_notifier.adapters.sqs_redelivery import SqsRedelivery
from run_notifier.adapters.sqs_requeue import SqsRequeue
from run_notifier.config import Settings
from run_notifier.destinations import SCHEMAS, RoutedDestinations
from run_notifier.destinations.context import DestinationContext
from run_notifier.domain.notifier import Notifier
from run_notifier.domain.ports import Telemetry
from run_notifier.domain.routing import Routes, parse_routes
from run_notifier.domain.watcher import RunWatcher
from run_notifier.observability import telemetry as powertools_telemetry

#: Up to this many records are watched at once; the template's BatchSize must not exceed it.
MAX_CONCURRENT_RECORDS = 100
_BOTO_CONFIG = Config(max_pool_connections=MAX_CONCURRENT_RECORDS, retries={"max_attempts": 3, "mode": "standard"})


def utc_now() -> datetime:
    return datetime.now(UTC)


class Components(NamedTuple):
    watcher: RunWatcher
    redelivery: SqsRedelivery
    settings: Settings


def routes_source(settings: Settings, ssm_client: Callable[[], Any]) -> Callable[[], Routes]:
    """Routes from ROUTES_JSON (parsed now: a bad document stops the cold start) or SSM (cached by Powertools)."""
    if settings.routes_json or not settings.routes_ssm_parameter:
        routes = parse_routes(settings.routes_json, SCHEMAS)
        return lambda: routes

    def provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=ssm_client())

    ssm = Lazy(provider)
    name = settings.routes_ssm_parameter
    return lambda: parse_routes(ssm.get().get(name, max_age=settings.secrets_max_age_seconds), SCHEMAS)


def build_components(
    settings: Settings,
    session: boto3.session.Session | None = None,
    *,
    telemetry: Telemetry = powertools_telemetry,
    now: Callable[[], datetime] = utc_now,
) -> Components:
    aws = session or boto3.session.Session()
    sqs = aws.client("sqs", config=_BOTO_CONFIG)
    table = RunsTable(aws.client("dynamodb", config=_BOTO_CONFIG), settings.runs_table_name)
    events = Lazy(lambda: aws.client("events", config=_BOTO_CONFIG))
    secrets = SecretStore(
        Lazy(lambda: aws.client("secretsmanager", config=_BOTO_CONFIG)), settings.secrets_max_age_seconds
    )
    ssm = Lazy(lambda: aws.client("ssm", config=_BOTO_CONFIG))
    http = HttpClient(pool_size=MAX_CONCURRENT_RECORDS)

    token: Callable[[], Secret | None] = (
        secrets.source(settings.apify_token_secret_arn, None, "Apify token")
        if settings.apify_token_secret_arn
        else (lambda: settings.apify_token)
    )
    apify = ApifyClient(settings.apify_api_base_url, token, http)
    directory = RoutedDestinations(
        routes_source(settings, ssm), DestinationContext(settings, http, secrets, events, now)
    )
    notifier = Notifier(DynamoNotificationClaims(table), directory, settings.notify_on, telemetry, now)
    watcher = RunWatcher(
        apify=apify,
        ledger=DynamoRunLedger(table, settings.item_ttl_days),
        requeue=SqsRequeue(sqs, settings.run_queue_url),
        notifier=notifier,
        actor_names=CachedActorNames(apify),
        schedule=settings.schedule,
        max_watch_secs=settings.max_watch_seconds,
        telemetry=telemetry,
        now=now,
    )
    return Components(watcher, SqsRedelivery(sqs, settings.run_queue_url, settings.schedule), settings)
