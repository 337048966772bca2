"""Build the watcher and its adapters from Settings: the only place that makes clients.

Clients that a cold start may not need (EventBridge, Secrets Manager, SSM) are made on
first use.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from run_notifier.actor_names import ActorNames
from run_notifier.apify_client import ApifyClient
from run_notifier.config import Settings
from run_notifier.http import HttpClient
from run_notifier.notifier import Notifier
from run_notifier.requeue import Requeuer
from run_notifier.routing import Routes, parse_routes
from run_notifier.run_store import RunStore
from run_notifier.secret import Secret
from run_notifier.secrets import SecretResolver
from run_notifier.watcher import RunWatcher

#: Up to this many records are watched at once; the template's BatchSize must not exceed it.
MAX_CONCURRENT_RECORDS = 100
_BOTO_CONFIG = Config(max_pool_connections=MAX_CONCURRENT_RECORDS, retries={"max_attempts": 3, "mode": "standard"})


def _lazy(factory: Callable[[], Any]) -> Callable[[], Any]:
    lock = threading.Lock()
    holder: list[Any] = []

    def get() -> Any:
        with lock:
            if not holder:
                holder.append(factory())
            return holder[0]

    return get


def routes_provider(settings: Settings, ssm_client: Callable[[], Any]) -> Callable[[], Routes]:
    """Routes from ROUTES_JSON (parsed now) or an SSM parameter (cached by Powertools)."""
    if settings.routes_json:
        routes = parse_routes(settings.routes_json)
        return lambda: routes
    if settings.routes_ssm_parameter:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        provider = _lazy(lambda: SSMProvider(boto3_client=ssm_client()))
        name = settings.routes_ssm_parameter

        @functools.wraps(parse_routes)
        def load() -> Routes:
            return parse_routes(provider().get(name, max_age=settings.secrets_max_age_secs))

        return load
    empty = Routes()
    return lambda: empty


def build_watcher(settings: Settings, session: boto3.session.Session | None = None) -> RunWatcher:
    aws = session or boto3.session.Session()
    sqs = aws.client("sqs", config=_BOTO_CONFIG)
    dynamodb = aws.client("dynamodb", config=_BOTO_CONFIG)
    events = _lazy(lambda: aws.client("events", config=_BOTO_CONFIG))
    secrets_client = _lazy(lambda: aws.client("secretsmanager", config=_BOTO_CONFIG))
    ssm = _lazy(lambda: aws.client("ssm", config=_BOTO_CONFIG))

    resolver = SecretResolver(secrets_client, settings.secrets_max_age_secs)
    http = HttpClient(pool_size=MAX_CONCURRENT_RECORDS)
    token: Secret | Callable[[], Secret] | None = settings.apify_token
    if settings.apify_token_secret_arn:
        token = resolver.source(settings.apify_token_secret_arn, None, "Apify token")
    apify = ApifyClient(settings.apify_api_base_url, token, http=http)
    store = RunStore(dynamodb, settings.runs_table_name, settings.item_ttl_days)
    notifier = Notifier(settings, store, http, resolver, events, routes_provider(settings, ssm))
    return RunWatcher(
        apify=apify,
        store=store,
        requeuer=Requeuer(sqs, settings.run_queue_url),
        notifier=notifier,
        actor_names=ActorNames(apify),
        schedule=settings.schedule,
        max_watch_secs=settings.max_watch_secs,
    )
