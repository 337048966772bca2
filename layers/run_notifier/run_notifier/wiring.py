"""The composition root: build every component from Settings, with its real type.

One thing is lazy, through one typed mechanism (`adapters.memo.Lazy`): what only a run that
ends needs — the finishing side (`build_finishing`: ledger, claims, notifier, destinations,
routes, Actor names, with their modules) and the EventBridge, Secrets Manager and SSM
clients. A container that only re-enqueues never builds them, and the cold start does not
import them (`make bench` measures it against a bare boto3 with the same two clients).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import boto3

from run_notifier import snapstart
from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.adapters.aws_bounds import client_config, worst_call_secs
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.intake_tokens import IntakeTokens
from run_notifier.adapters.memo import Lazy
from run_notifier.adapters.run_ledger import DynamoRunLedger
from run_notifier.adapters.secret_store import Secret, SecretStore
from run_notifier.adapters.sqs_enqueue import SqsEnqueue
from run_notifier.adapters.sqs_redelivery import SqsRedelivery
from run_notifier.adapters.sqs_requeue import SqsRequeue
from run_notifier.config import DigestSettings, IntakeSettings, Settings, SweeperSettings
from run_notifier.destinations import may_announce_running
from run_notifier.domain.events import Events
from run_notifier.domain.mutes import Mute
from run_notifier.domain.ports import PushArming
from run_notifier.domain.watcher import FinishComponents, RunWatcher
from run_notifier.observability import events as event_log

if TYPE_CHECKING:
    from run_notifier.destinations.context import DestinationContext, SharedSettings
    from run_notifier.domain.announcements import Announcement
    from run_notifier.domain.claims import ExactlyOnce
    from run_notifier.domain.fleet_reporter import FleetReporter
    from run_notifier.domain.grants import Grants
    from run_notifier.domain.health import Expectation
    from run_notifier.domain.report_specs import ReportSpecs
    from run_notifier.domain.routing import Routes
    from run_notifier.domain.run_summary import RunSummary
    from run_notifier.domain.sweep import Sweeper

#: Up to this many records are watched at once; the template's BatchSize must not exceed it.
MAX_CONCURRENT_RECORDS = 100
_BOTO_CONFIG = client_config(MAX_CONCURRENT_RECORDS)
#: The watcher's runs table (its ledger and its claims): DynamoDB answers in milliseconds, so short
#: timeouts and one retry; a write that still fails fails its record, which is redelivered.
_TABLE_CONFIG = client_config(MAX_CONCURRENT_RECORDS, max_attempts=2, connect_timeout=0.5, read_timeout=2.0)
#: A claim outlives its holder's time share by the longest its closing mark (one write on that
#: table) can take, plus clock skew between containers (their clocks are NTP-synchronised): a
#: crashed holder's claim lapses that soon after its share, and a live one has surely marked it.
CLOCK_SKEW_SECS = 1.0
LEASE_MARGIN_SECS = worst_call_secs(_TABLE_CONFIG) + CLOCK_SKEW_SECS
#: How long a stuck run's or a missed slot's own item (its claims) is kept before the table's TTL removes it.
ALERT_ITEM_DAYS = 30
#: A digest's or budget alert's item outlives its period: a month's budget alert claimed on the 1st must
#: still stand on the 31st (and DynamoDB's TTL may delete an item days late, never early).
REPORT_ITEM_DAYS = 62
#: Destinations that send through the AWS SDK (EventBridge) get one attempt: its worst case then
#: fits in the smallest time share a send is given (notifier.MIN_SEND_SECS), so the lease holds;
#: a failed attempt is retried by the redelivery.
_SEND_CONFIG = client_config(MAX_CONCURRENT_RECORDS, max_attempts=1)


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class Components(NamedTuple):
    """The run watcher's components: the watcher, the redelivery control, the settings."""

    watcher: RunWatcher
    redelivery: SqsRedelivery
    settings: Settings


def granted(settings: Settings) -> Grants | None:
    """What the role may read and publish to, as the template grants it; None: not said (local use)."""
    from run_notifier.domain.grants import Grants, bus_arn

    if settings.routed_secret_arns is None and settings.routed_event_bus_arns is None:
        return None
    # Each destination kind's own secret and bus, whichever kinds there are (the template grants them).
    values = [
        (name, value)
        for section in settings.destinations.values()
        for name, value in (section._asdict() if hasattr(section, "_asdict") else dict(section)).items()
        if value
    ]
    # The queue's URL names the account and Region: https://sqs.<region>.amazonaws.com/<account>/<name>
    account = settings.run_queue_url.rstrip("/").rsplit("/", 2)[-2]
    region = os.environ.get("AWS_REGION", "us-east-1")
    prefix = f"arn:aws:events:{region}:{account}:event-bus/"
    secrets = {str(v) for n, v in values if n.endswith("_secret_arn")} | set(settings.routed_secret_arns or ())
    buses = {bus_arn(str(v), prefix) for n, v in values if n == "event_bus_name"}
    return Grants(frozenset(secrets), frozenset(buses | set(settings.routed_event_bus_arns or ())), prefix)


def routes_source(settings: Settings, ssm_client: Callable[[], Any]) -> Callable[[], Routes]:
    """Routes from ROUTES_JSON or SSM (cached by Powertools for SECRETS_MAX_AGE_SECONDS), checked
    against what the role is granted."""
    from run_notifier.destinations import SCHEMAS
    from run_notifier.domain.grants import check_routes
    from run_notifier.domain.report_specs import parse_report_specs
    from run_notifier.domain.routing import parse_routes

    grants = granted(settings)

    def parsed(text: str | None) -> Routes:
        routes = parse_routes(text, SCHEMAS)
        parse_report_specs(text)  # the whole document is checked, its digests and budgets too
        if grants is not None:
            check_routes(routes, grants)
        return routes

    if settings.routes_json or not settings.routes_ssm_parameter:
        routes = parsed(settings.routes_json)
        return lambda: routes

    def provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=ssm_client())

    ssm = Lazy(provider)
    name = settings.routes_ssm_parameter
    # A run asks for its routes several times (each announcement, its incident, its expectation): the
    # document is parsed and checked once per text Powertools hands back, not once per ask.
    last: list[tuple[str | None, Routes]] = []

    def current() -> Routes:
        text = ssm.get().get(name, max_age=settings.secrets_max_age_seconds)
        known = last[0] if last else None
        if known is not None and known[0] == text:
            return known[1]
        routes = parsed(text)
        last[:] = [(text, routes)]
        return routes

    return current


def _secret_store(aws: boto3.session.Session, max_age_secs: int) -> SecretStore:
    return SecretStore(Lazy(lambda: aws.client("secretsmanager", config=_BOTO_CONFIG)), max_age_secs)


def _apify_client(settings: Settings | SweeperSettings, secrets: SecretStore, http: HttpClient) -> ApifyClient:
    """The Apify client with its token: from Secrets Manager by ARN (read on first use), else plain."""
    token: Callable[[], Secret | None] = (
        secrets.source(settings.apify_token_secret_arn, None, "Apify token")
        if settings.apify_token_secret_arn
        else (lambda: settings.apify_token)
    )
    return ApifyClient(settings.apify_api_base_url, token, http)


class MuteWriter(Protocol):
    """Where POST /mutes writes (adapters/mute_store.py)."""

    def add(self, mute: Mute) -> None:
        """Add (or replace) the subject's mute."""
        ...

    def remove(self, subject: str) -> bool:
        """Remove the subject's mute; True when there was one."""
        ...


class IntakeComponents(NamedTuple):
    """The intake function's components (function_url_handler.make_intake_handler)."""

    tokens: IntakeTokens
    queue: SqsEnqueue
    #: POST /runs' own token; None: /runs takes the webhook token (one token for both jobs).
    runs_tokens: IntakeTokens | None = None
    #: Where POST /mutes writes (the runs table); None: the route answers 503.
    mutes: MuteWriter | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: The watcher's SETTLE_SECONDS: a run's terminal webhook is enqueued to be read once its costs settled.
    settle_secs: int = 0


class Clients(NamedTuple):
    """What both sides share."""

    session: boto3.session.Session
    table: RunsTable
    http: HttpClient
    secrets: SecretStore
    apify: ApifyClient
    ledger: DynamoRunLedger


def build_clients(settings: Settings, session: boto3.session.Session | None = None) -> Clients:
    """The clients both sides of the watcher share (the runs table, HTTP, secrets, Apify, the ledger)."""
    aws = session or boto3.session.Session()
    table = RunsTable(aws.client("dynamodb", config=_TABLE_CONFIG), settings.runs_table_name)
    secrets = _secret_store(aws, settings.secrets_max_age_seconds)
    http = HttpClient(pool_size=MAX_CONCURRENT_RECORDS)
    snapstart.on_restore(http.reset)
    ledger = DynamoRunLedger(table, settings.item_ttl_days)
    return Clients(aws, table, http, secrets, _apify_client(settings, secrets, http), ledger)


def build_push_arming(settings: Settings, clients: Clients) -> PushArming | None:
    """Ad-hoc webhooks to the intake, when one is deployed (INTAKE_URL); None: poll as without push."""
    if not settings.push_url:
        return None
    from run_notifier.adapters.arming_budget import ArmingBudget
    from run_notifier.adapters.push_arming import ApifyPushArming

    token = clients.secrets.source(settings.intake_token_secret_arn, settings.intake_token, "intake token")
    budget = ArmingBudget(clients.table, settings.push_arming_per_second)
    return ApifyPushArming(clients.apify, settings.push_url, token, budget=budget, table=clients.table)


def build_finishing(
    settings: Settings, clients: Clients, events: Events, now: Callable[[], datetime]
) -> FinishComponents:
    """The finishing side, with the modules only it needs."""
    from run_notifier.adapters.actor_names import CachedActorNames
    from run_notifier.adapters.apify_datasets import ApifyDatasets
    from run_notifier.adapters.incident_store import DynamoIncidents
    from run_notifier.adapters.mute_store import DynamoMutes
    from run_notifier.adapters.run_history import DynamoRunHistory
    from run_notifier.destinations import RoutedDestinations
    from run_notifier.domain.health_flow import HealthCheck, StuckCheck
    from run_notifier.domain.incident_flow import IncidentFlow
    from run_notifier.domain.notifier import Announcer, Notifier

    ssm = Lazy(lambda: clients.session.client("ssm", config=_BOTO_CONFIG))
    routes = routes_source(settings, ssm)
    mutes = DynamoMutes(clients.table, now)
    exactly_once = _exactly_once(clients.table, events, now)
    shared = (clients.http, clients.secrets, clients.apify, clients.table)
    context = destination_context(settings, clients.session, shared, now, settings.run_queue_url)
    directory = RoutedDestinations(routes, context, exactly_once, mutes)
    announcer = Announcer(directory, Notifier(exactly_once, now), _item_preparer(clients.table, now))
    history = DynamoRunHistory(clients.table)

    def expectation_for(summary: RunSummary, ignore: frozenset[str]) -> Expectation | None:
        return routes().expectation_for(summary, ignore)

    return FinishComponents(
        ledger=clients.ledger,
        announcer=announcer,
        actor_names=CachedActorNames(clients.apify),
        notify_on=settings.notify_on,
        live=directory,
        incidents=IncidentFlow(DynamoIncidents(clients.table), directory.incident_for, announcer, events),
        mutes=mutes,
        health=HealthCheck(expectation_for, history, ApifyDatasets(clients.apify), events),
        stuck=StuckCheck(expectation_for, history, announcer, events),
    )


def _exactly_once(table: RunsTable, events: Events, now: Callable[[], datetime]) -> ExactlyOnce:
    """The one claims implementation, on the runs table's items."""
    from run_notifier.adapters.notification_claims import DynamoNotificationClaims
    from run_notifier.domain.claims import ExactlyOnce

    return ExactlyOnce(DynamoNotificationClaims(table), events, now, lease_margin_secs=LEASE_MARGIN_SECS)


def _item_preparer(table: RunsTable, now: Callable[[], datetime]) -> Callable[[Announcement], None]:
    """An announcement's own item (a stuck run's, a missed slot's), made before its claims and kept as
    long as its type says; nothing for one whose item is made elsewhere (a run's, an incident's)."""
    from run_notifier.adapters.run_history import prepare_alert_item

    def prepare(announcement: Announcement) -> None:
        if announcement.own_item_days:
            expires = int(now().timestamp()) + announcement.own_item_days * 86400
            prepare_alert_item(table, announcement.item, expires)

    return prepare


def destination_context(
    settings: SharedSettings,
    aws: boto3.session.Session,
    shared: tuple[HttpClient, SecretStore, ApifyClient, RunsTable],
    now: Callable[[], datetime],
    queue_url: str | None = None,
) -> DestinationContext:
    """What every destination kind builds itself from; AWS clients made on first use, one attempt each."""
    from run_notifier.adapters.memo import Memo
    from run_notifier.destinations.context import DestinationContext

    aws_clients: Memo[Any] = Memo()

    def aws_client(service: str) -> Any:
        return aws_clients.get(service, lambda: aws.client(service, config=_SEND_CONFIG))

    http, secrets, apify, table = shared
    return DestinationContext(settings, http, secrets, now, aws_client, apify, table, queue_url)


def build_components(
    settings: Settings,
    session: boto3.session.Session | None = None,
    *,
    events: Events = event_log,
    now: Callable[[], datetime] = utc_now,
) -> Components:
    """The run watcher's components from its settings; the finishing side is built on first use."""
    clients = build_clients(settings, session)
    sqs = clients.session.client("sqs", config=_BOTO_CONFIG)
    if settings.routes_json:
        routes_source(settings, Lazy(lambda: None))  # a bad inline routes document stops the cold start
    push = build_push_arming(settings, clients)
    usual_durations = None
    if push is not None:  # only a pushed run's safety net is timed by its history
        from run_notifier.adapters.run_history import DynamoRunHistory
        from run_notifier.adapters.usual_durations import CachedUsualDurations

        usual_durations = CachedUsualDurations(DynamoRunHistory(clients.table))
    watcher = RunWatcher(
        apify=clients.apify,
        requeue=SqsRequeue(sqs, settings.run_queue_url),
        finishing=Lazy(lambda: build_finishing(settings, clients, events, now)),
        schedule=settings.schedule,
        max_watch_secs=settings.max_watch_seconds,
        events=events,
        now=now,
        watch_ledger=clients.ledger,
        push=push,
        announces_running=may_announce_running(settings.destinations),
        usual_durations=usual_durations,
    )
    return Components(watcher, SqsRedelivery(sqs, settings.run_queue_url, settings.schedule), settings)


def build_intake(settings: IntakeSettings, session: boto3.session.Session | None = None) -> IntakeComponents:
    """The intake function's components: its token checks (one per job) and the run queue."""

    aws = session or boto3.session.Session()
    secrets = Lazy(lambda: aws.client("secretsmanager", config=_BOTO_CONFIG))
    max_age = settings.secrets_max_age_seconds
    webhook_tokens = IntakeTokens(settings.intake_token_secret_arn, settings.intake_token, secrets, max_age)
    runs_tokens = (
        IntakeTokens(settings.runs_token_secret_arn, settings.runs_token, secrets, max_age)
        if settings.separate_runs_token
        else None
    )
    queue = SqsEnqueue(aws.client("sqs", config=_BOTO_CONFIG), settings.run_queue_url)
    mutes = None
    if settings.runs_table_name:
        from run_notifier.adapters.dynamodb import RunsTable
        from run_notifier.adapters.mute_store import DynamoMutes

        table = RunsTable(aws.client("dynamodb", config=_TABLE_CONFIG), settings.runs_table_name)
        mutes = DynamoMutes(table, utc_now)
    return IntakeComponents(webhook_tokens, queue, runs_tokens, mutes, settle_secs=settings.settle_seconds)


def build_sweeper(
    settings: SweeperSettings,
    session: boto3.session.Session | None = None,
    *,
    events: Events = event_log,
    now: Callable[[], datetime] = utc_now,
    page_limit: int = 1000,
) -> Sweeper:
    """The discovery sweep: Apify's run list, the enrollments in the runs table, the run queue."""
    from run_notifier.adapters.enrollments import DynamoEnrollments
    from run_notifier.domain.sweep import Sweeper, SweepPolicy

    aws = session or boto3.session.Session()
    dynamodb = aws.client("dynamodb", config=_BOTO_CONFIG)
    apify = _apify_client(settings, _secret_store(aws, settings.secrets_max_age_seconds), HttpClient(pool_size=4))
    policy = SweepPolicy(
        lookback_secs=settings.sweep_lookback_minutes * 60,
        overlap_secs=settings.sweep_overlap_seconds,
        actor_ids=settings.sweep_actor_ids or frozenset(),
        task_ids=settings.sweep_task_ids or frozenset(),
    )
    table = RunsTable(dynamodb, settings.runs_table_name)
    queue = SqsEnqueue(aws.client("sqs", config=_BOTO_CONFIG), settings.run_queue_url)
    schedules = None
    if settings.sweep_schedules_enabled:
        from run_notifier.adapters.schedule_memory import DynamoScheduleMemories
        from run_notifier.domain.schedule_check import ScheduleCheck, SchedulePolicy

        chosen = settings.sweep_schedules_enabled
        schedule_policy = SchedulePolicy(
            grace_secs=settings.schedule_grace_seconds,
            chosen=None if chosen is True else frozenset(chosen),
            actor_ids=policy.actor_ids,
            task_ids=policy.task_ids,
        )
        memories = DynamoScheduleMemories(dynamodb, table, settings.runs_table_name)
        schedules = ScheduleCheck(apify, memories, queue, schedule_policy, events, now)
    return Sweeper(
        apify,
        DynamoEnrollments(dynamodb, table, settings.runs_table_name, settings.item_ttl_days),
        queue,
        policy,
        events,
        now,
        page_limit,
        schedules,
    )


def build_fleet_reporter(
    settings: DigestSettings,
    session: boto3.session.Session | None = None,
    *,
    events: Events = event_log,
    now: Callable[[], datetime] = utc_now,
) -> FleetReporter:
    """The hourly digest function: the routes document's digests and budgets, the ledger by day, the
    claims, and every destination kind that can post a report (the registry's `report_target`)."""
    from run_notifier.adapters.incident_store import DynamoIncidents
    from run_notifier.adapters.ledger_by_day import LedgerByDay
    from run_notifier.adapters.run_history import prepare_alert_item
    from run_notifier.destinations import report_destinations
    from run_notifier.domain.fleet_reporter import FleetReporter
    from run_notifier.domain.report_specs import parse_report_specs

    aws = session or boto3.session.Session()
    table = RunsTable(aws.client("dynamodb", config=_TABLE_CONFIG), settings.runs_table_name)
    secrets = _secret_store(aws, settings.secrets_max_age_seconds)
    http = HttpClient(pool_size=2)
    # Reports read nothing from Apify: a client without a token, never called.
    apify = ApifyClient("https://api.apify.com", lambda: None, http)
    context = destination_context(settings, aws, (http, secrets, apify, table), now)
    reports = _report_specs_source(settings, Lazy(lambda: aws.client("ssm", config=_BOTO_CONFIG)), parse_report_specs)

    def prepare(item: str) -> None:
        prepare_alert_item(table, item, int(now().timestamp()) + REPORT_ITEM_DAYS * 86400)

    return FleetReporter(
        reports,
        LedgerByDay(table),
        _exactly_once(table, events, now),
        prepare,
        lambda channel: report_destinations(settings.destinations, context, channel),
        incidents=DynamoIncidents(table),
    )


def _report_specs_source(
    settings: DigestSettings, ssm_client: Callable[[], Any], parse: Callable[[str | None], ReportSpecs]
) -> Callable[[], ReportSpecs]:
    """The digests and budgets of the routes document: ROUTES_JSON, else the SSM parameter (read each
    invocation through Powertools' cache of SECRETS_MAX_AGE_SECONDS)."""
    if settings.routes_json or not settings.routes_ssm_parameter:
        reports = parse(settings.routes_json)
        return lambda: reports
    name = settings.routes_ssm_parameter

    def provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=ssm_client())

    ssm = Lazy(provider)
    return lambda: parse(ssm.get().get(name, max_age=settings.secrets_max_age_seconds))
