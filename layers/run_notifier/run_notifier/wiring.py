"""Build the watcher and its adapters from Settings: the only place that makes clients.

What a cold start may not need is built on first use: the EventBridge, Secrets Manager and
SSM clients, and the whole finishing side (run ledger, notifier, Actor names), which an
invocation that only re-enqueues never touches (`make bench` measures the cold start).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import boto3
from botocore.config import Config

from run_notifier.apify_client import ApifyClient
from run_notifier.config import Settings
from run_notifier.http import HttpClient
from run_notifier.redelivery import Redelivery
from run_notifier.requeue import Requeuer
from run_notifier.secret import Secret
from run_notifier.secrets import SecretResolver
from run_notifier.watcher import RunWatcher

if TYPE_CHECKING:
    from run_notifier.routing import Routes

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


class Deferred:
    """Stands in for an object that is built, with its modules, on first attribute access."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._get = _lazy(factory)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def routes_provider(settings: Settings, ssm_client: Callable[[], Any]) -> Callable[[], Routes]:
    """Routes from ROUTES_JSON (parsed now) or an SSM parameter (cached by Powertools), or none."""
    if not (settings.routes_json or settings.routes_ssm_parameter):
        return _lazy(_no_routes)
    from run_notifier.routing import parse_routes

    if settings.routes_json:
        routes = parse_routes(settings.routes_json)  # at cold start: a bad document stops it early
        return lambda: routes
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    provider = _lazy(lambda: SSMProvider(boto3_client=ssm_client()))
    name = str(settings.routes_ssm_parameter)

    def load() -> Routes:
        return parse_routes(provider().get(name, max_age=settings.secrets_max_age_secs))

    return load


def _no_routes() -> Routes:
    from run_notifier.routing import Routes

    return Routes()


class Components(NamedTuple):
    watcher: RunWatcher
    redelivery: Redelivery


def build_components(settings: Settings, session: boto3.session.Session | None = None) -> Components:
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
    routes = routes_provider(settings, ssm)

    def make_store() -> Any:
        from run_notifier.run_store import RunStore

        return RunStore(dynamodb, settings.runs_table_name, settings.item_ttl_days)

    store = Deferred(make_store)

    def make_notifier() -> Any:
        from run_notifier.notifier import Notifier

        return Notifier(settings, store, http, resolver, events, routes)

    def make_actor_names() -> Any:
        from run_notifier.actor_names import ActorNames

        return ActorNames(apify)

    watcher = RunWatcher(
        apify=apify,
        store=store,  # type: ignore[arg-type]
        requeuer=Requeuer(sqs, settings.run_queue_url),
        notifier=Deferred(make_notifier),  # type: ignore[arg-type]
        actor_names=Deferred(make_actor_names),  # type: ignore[arg-type]
        schedule=settings.schedule,
        max_watch_secs=settings.max_watch_secs,
    )
    return Components(watcher, Redelivery(sqs, settings.run_queue_url, settings.retry_visibility_secs))
