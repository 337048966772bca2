"""Each function's environment, composed from sections and read once at cold start.

A variable is declared once, in one section (`config_sections.Section`); a function's table is
the sections it needs, and each destination kind brings its own section (its module's
`SETTINGS`, found by the registry). These tables are the only place a default or a bound is
written: the template's parameter defaults and docs/deploy-and-operate.md's "Function environment"
are tested against them (tests/unit/test_template.py, tests/unit/test_config.py). A bad value
stops the cold start with a ConfigError that names the variable, never a secret's value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from run_notifier.adapters.secret_store import Secret
from run_notifier.adapters.url_policy import UrlRefused, check_url
from run_notifier.config_sections import (
    REQUIRED,
    ConfigError,
    Section,
    Variable,
    arns,
    boolean,
    ids,
    integer,
    one_of_needed,
    schedule_choice,
    seconds_list,
    secret,
    statuses,
    text,
)
from run_notifier.domain.schedules import APIFY_MAX_WAIT_SECS, SQS_MAX_DELAY_SECS, SQS_MAX_VISIBILITY_SECS, Schedule

__all__ = [
    "DEFAULT_NOTIFY_ON",
    "DIGEST_VARIABLES",
    "INTAKE_VARIABLES",
    "REQUIRED",
    "SWEEPER_VARIABLES",
    "VARIABLES",
    "ConfigError",
    "DigestSettings",
    "IntakeSettings",
    "Settings",
    "SweeperSettings",
    "Variable",
    "load_digest_settings",
    "load_intake_settings",
    "load_settings",
    "load_sweeper_settings",
]

DEFAULT_NOTIFY_ON = "SUCCEEDED,FAILED,TIMED-OUT,ABORTED,WATCH_EXPIRED"

# --- the shared sections -------------------------------------------------------------------

TABLE = Section((Variable("RUNS_TABLE_NAME", text, REQUIRED), Variable("ITEM_TTL_DAYS", integer(0, 3650), "90")))
QUEUE = Section((Variable("RUN_QUEUE_URL", text, REQUIRED),))
APIFY = Section(
    (
        Variable("APIFY_API_BASE_URL", text, "https://api.apify.com"),
        Variable("APIFY_TOKEN_SECRET_ARN", text, None),
        Variable("APIFY_TOKEN", secret, None),
    ),
    urls=("APIFY_API_BASE_URL",),
)
SECRETS = Section((Variable("SECRETS_MAX_AGE_SECONDS", integer(0, 86400), "300"),))
#: Plain http to loopback (local receivers and simulators). Unset: allowed outside Lambda only,
#: because inside Lambda loopback is the Runtime API.
NETWORK = Section((Variable("ALLOW_LOOPBACK_HTTP", boolean, None),))
#: The token Apify's webhooks carry (`make enroll`'s and push's): the only one `/apify/webhooks` takes.
INTAKE_TOKEN = Section((Variable("INTAKE_TOKEN_SECRET_ARN", text, None), Variable("INTAKE_TOKEN", secret, None)))
#: The token `POST /runs` callers (CI, scripts) carry. Unset: `/runs` takes the webhook token, as
#: before there were two; set, each route takes its own token only.
RUNS_TOKEN = Section((Variable("RUNS_TOKEN_SECRET_ARN", text, None), Variable("RUNS_TOKEN", secret, None)))
ROUTING = Section(
    (
        Variable("NOTIFY_ON", statuses, DEFAULT_NOTIFY_ON),
        Variable("ROUTES_JSON", text, None),
        Variable("ROUTES_SSM_PARAMETER", text, None),
    )
)
#: How long after a run's finish its costs are read as settled (the watcher's and the intake's).
SETTLE = Variable("SETTLE_SECONDS", integer(0, SQS_MAX_DELAY_SECS), "10")
WATCH = Section(
    (
        Variable("MAX_WATCH_SECONDS", integer(60, 366 * 24 * 3600), "604800"),
        Variable("LONG_POLL_SCHEDULE", seconds_list(0, APIFY_MAX_WAIT_SECS), "60,0"),
        Variable("REQUEUE_DELAY_SCHEDULE", seconds_list(0, SQS_MAX_DELAY_SECS), "5,20,40,65"),
        Variable("MAX_REQUEUE_DELAY_SECONDS", integer(1, SQS_MAX_DELAY_SECS), "65"),
        SETTLE,
        # With the template's MaxReceiveCount (11): the last try is about 28 h after the first.
        Variable(
            "RETRY_VISIBILITY_SCHEDULE",
            seconds_list(0, SQS_MAX_VISIBILITY_SECS),
            "30,120,300,900,1800,3600,7200,14400,28800,43200",
        ),
    )
)
#: Push (domain/push.py): with INTAKE_URL set, each run gets an ad-hoc Apify webhook to the intake.
PUSH = Section(
    (
        Variable("INTAKE_URL", text, None),
        Variable("SAFETY_NET_DELAY_SCHEDULE", seconds_list(1, SQS_MAX_DELAY_SECS), "900"),
        # Webhook creates a second across containers (adapters/arming_budget.py): half of Apify's 60.
        Variable("PUSH_ARMING_PER_SECOND", integer(1, 60), "30"),
    ),
    urls=("INTAKE_URL",),
    check=lambda v: one_of_needed(
        v, "INTAKE_URL", "INTAKE_TOKEN_SECRET_ARN", "INTAKE_TOKEN", why="(the webhooks it arms send it)"
    ),
)
TRACING = Section((Variable("ENABLE_TRACER", boolean, "false"),))
#: What the role is granted beyond each destination's own secret and bus (the template sets both,
#: empty when nothing is routed): routes are checked against them (domain/grants.py). Unset (local
#: use): routes are not checked.
GRANTS = Section((Variable("ROUTED_SECRET_ARNS", arns, None), Variable("ROUTED_EVENT_BUS_ARNS", arns, None)))
SWEEP = Section(
    (
        Variable("SWEEP_LOOKBACK_MINUTES", integer(1, 7 * 24 * 60), "60"),
        Variable("SWEEP_OVERLAP_SECONDS", integer(0, 3600), "120"),
        Variable("SWEEP_ACTOR_IDS", ids, None),
        Variable("SWEEP_TASK_IDS", ids, None),
        # Schedules that never fired (domain/missed_schedules.py): off unless asked for.
        Variable("SWEEP_SCHEDULES_ENABLED", schedule_choice, "false"),
        Variable("SCHEDULE_GRACE_SECONDS", integer(0, 86400), "300"),
    )
)


def _destination_sections() -> dict[str, Section]:
    from run_notifier.destinations import SECTIONS

    return SECTIONS


def _report_sections() -> dict[str, Section]:
    """The sections of the kinds that can post a digest or budget alert (the digest function's destinations)."""
    from run_notifier.destinations import REPORT_SECTIONS

    return REPORT_SECTIONS


DIGEST_ROUTES = Section((Variable("ROUTES_JSON", text, None), Variable("ROUTES_SSM_PARAMETER", text, None)))
WATCHER_SECTIONS = (TABLE, QUEUE, APIFY, SECRETS, NETWORK, INTAKE_TOKEN, ROUTING, WATCH, PUSH, TRACING, GRANTS)
#: The intake keeps mutes (POST /mutes) in the runs table; without it the route answers 503.
MUTES_TABLE = Section((Variable("RUNS_TABLE_NAME", text, None),))
#: The watcher's settle time: a terminal webhook's run is enqueued to be read once, after its costs settle.
INTAKE_SETTLE = Section((SETTLE,))
INTAKE_SECTIONS = (QUEUE, INTAKE_TOKEN, RUNS_TOKEN, SECRETS, MUTES_TABLE, INTAKE_SETTLE)
SWEEPER_SECTIONS = (TABLE, QUEUE, APIFY, SECRETS, NETWORK, SWEEP)
DIGEST_SECTIONS = (TABLE, SECRETS, NETWORK, DIGEST_ROUTES)


def _variables(sections: Iterable[Section]) -> tuple[Variable, ...]:
    return tuple(variable for section in sections for variable in section.variables)


#: Every variable the run watcher reads, its destinations' included (for the template tests).
VARIABLES: tuple[Variable, ...] = _variables((*WATCHER_SECTIONS, *_destination_sections().values()))
INTAKE_VARIABLES: tuple[Variable, ...] = _variables(INTAKE_SECTIONS)
SWEEPER_VARIABLES: tuple[Variable, ...] = _variables(SWEEPER_SECTIONS)
DIGEST_VARIABLES: tuple[Variable, ...] = _variables((*DIGEST_SECTIONS, *_report_sections().values()))


class Settings(NamedTuple):
    """The run watcher's validated environment: a field per shared variable, and each destination
    kind's own section under `destinations[kind]`. No defaults of its own (see the sections)."""

    runs_table_name: str
    item_ttl_days: int
    run_queue_url: str
    apify_api_base_url: str
    apify_token_secret_arn: str | None
    apify_token: Secret | None
    secrets_max_age_seconds: int
    allow_loopback_http: bool
    intake_token_secret_arn: str | None
    intake_token: Secret | None
    notify_on: frozenset[str]
    routes_json: str | None
    routes_ssm_parameter: str | None
    max_watch_seconds: int
    long_poll_schedule: tuple[int, ...]
    requeue_delay_schedule: tuple[int, ...]
    max_requeue_delay_seconds: int
    settle_seconds: int
    retry_visibility_schedule: tuple[int, ...]
    intake_url: str | None
    safety_net_delay_schedule: tuple[int, ...]
    push_arming_per_second: int
    enable_tracer: bool
    routed_secret_arns: frozenset[str] | None
    routed_event_bus_arns: frozenset[str] | None
    #: Each destination kind's section (destinations/*: `SETTINGS`), by kind.
    destinations: Mapping[str, Any] = MappingProxyType({})

    @property
    def schedule(self) -> Schedule:
        """The watch schedule (delays, long polls, safety net, settle) these settings describe."""
        return Schedule(
            long_poll_secs=self.long_poll_schedule,
            requeue_delays_secs=self.requeue_delay_schedule,
            max_requeue_delay_secs=self.max_requeue_delay_seconds,
            settle_secs=self.settle_seconds,
            retry_visibility_secs=self.retry_visibility_schedule,
            safety_net_delays_secs=self.safety_net_delay_schedule,
        )

    @property
    def push_url(self) -> str | None:
        """Where ad-hoc webhooks post: the intake's `/apify/webhooks` route (None: push off)."""
        from run_notifier.adapters.apify_webhooks import intake_webhook_url

        return intake_webhook_url(self.intake_url) if self.intake_url else None


class IntakeSettings(NamedTuple):
    """The webhook intake's validated environment."""

    run_queue_url: str
    intake_token_secret_arn: str | None
    intake_token: Secret | None
    runs_token_secret_arn: str | None
    runs_token: Secret | None
    secrets_max_age_seconds: int
    runs_table_name: str | None
    settle_seconds: int

    @property
    def separate_runs_token(self) -> bool:
        """True when `POST /runs` has a token of its own (else it takes the webhook token)."""
        return bool(self.runs_token_secret_arn or self.runs_token)


class SweeperSettings(NamedTuple):
    """The discovery sweep's validated environment."""

    runs_table_name: str
    item_ttl_days: int
    run_queue_url: str
    apify_api_base_url: str
    apify_token_secret_arn: str | None
    apify_token: Secret | None
    secrets_max_age_seconds: int
    allow_loopback_http: bool
    sweep_lookback_minutes: int
    sweep_overlap_seconds: int
    sweep_actor_ids: frozenset[str] | None
    sweep_task_ids: frozenset[str] | None
    sweep_schedules_enabled: bool | frozenset[str]
    schedule_grace_seconds: int


class DigestSettings(NamedTuple):
    """The digest function's validated environment: its own sections, and each report-posting kind's."""

    runs_table_name: str
    item_ttl_days: int
    secrets_max_age_seconds: int
    allow_loopback_http: bool
    routes_json: str | None
    routes_ssm_parameter: str | None
    #: Each kind that can post a report: its own section, as the watcher's `Settings.destinations`.
    destinations: Mapping[str, Any]


def read_section(section: Section, env: Mapping[str, str], allow_loopback_http: bool) -> dict[str, Any]:
    """One section's values by field name: parsed, URLs checked, its own rules applied."""
    missing = [v.name for v in section.variables if v.default == REQUIRED and not env.get(v.name, "").strip()]
    if missing:
        raise ConfigError(f"missing required environment variables: {', '.join(missing)}")
    values: dict[str, Any] = {}
    for variable in section.variables:
        raw = env.get(variable.name, "").strip() or variable.default
        try:
            values[variable.field] = None if raw is None else variable.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{variable.name} {error}") from None
    for name in section.urls:
        url = values[name.lower()]
        if url is None:
            continue
        try:
            check_url(url, allow_loopback_http=allow_loopback_http)
        except UrlRefused as error:
            raise ConfigError(f"{name} {error}") from None
        values[name.lower()] = url.rstrip("/")
    return values


def _read(env: Mapping[str, str], sections: Iterable[Section]) -> dict[str, Any]:
    """The sections' values together; rules that span sections see them all."""
    sections = tuple(sections)
    missing = [v.name for v in _variables(sections) if v.default == REQUIRED and not env.get(v.name, "").strip()]
    if missing:
        raise ConfigError(f"missing required environment variables: {', '.join(missing)}")
    allow = NETWORK.variables[0]
    raw_allow = env.get(allow.name, "").strip()
    try:
        allow_loopback = allow.parse(raw_allow) if raw_allow else "AWS_LAMBDA_RUNTIME_API" not in env
    except ValueError as error:
        raise ConfigError(f"{allow.name} {error}") from None
    values: dict[str, Any] = {}
    for section in sections:
        values.update(read_section(section, env, allow_loopback))
    if NETWORK in sections:
        values[allow.field] = allow_loopback
    for section in sections:
        problem = section.check(values) if section.check else None
        if problem:
            raise ConfigError(problem)
    return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The run watcher's Settings from the environment; raise ConfigError naming the bad variable."""
    env = os.environ if env is None else env
    values = _read(env, WATCHER_SECTIONS)
    return Settings(**values, destinations=_read_kinds(env, values, _destination_sections()))


def _read_kinds(env: Mapping[str, str], values: Mapping[str, Any], kinds: Mapping[str, Section]) -> Mapping[str, Any]:
    """Each kind's own section, read and checked (its model, or a read-only mapping)."""
    destinations: dict[str, Any] = {}
    for kind, section in kinds.items():
        own = {**values, **read_section(section, env, values["allow_loopback_http"])}
        problem = section.check(own) if section.check else None
        if problem:
            raise ConfigError(problem)
        mine = {v.field: own[v.field] for v in section.variables}
        destinations[kind] = section.model(**mine) if section.model else MappingProxyType(mine)
    return MappingProxyType(destinations)


def load_intake_settings(env: Mapping[str, str] | None = None) -> IntakeSettings:
    """The intake's settings from the environment; raise ConfigError naming the bad variable (a token is required)."""
    values = _read(os.environ if env is None else env, INTAKE_SECTIONS)
    if not (values["intake_token_secret_arn"] or values["intake_token"]):
        raise ConfigError("the intake needs INTAKE_TOKEN_SECRET_ARN (or INTAKE_TOKEN for local use)")
    return IntakeSettings(**values)


def load_digest_settings(env: Mapping[str, str] | None = None) -> DigestSettings:
    """The digest function's settings: its own sections and those of the kinds that can post a report."""
    env = os.environ if env is None else env
    values = _read(env, DIGEST_SECTIONS)
    return DigestSettings(**values, destinations=_read_kinds(env, values, _report_sections()))


def load_sweeper_settings(env: Mapping[str, str] | None = None) -> SweeperSettings:
    """The sweep's settings from the environment; raise ConfigError naming the bad variable."""
    return SweeperSettings(**_read(os.environ if env is None else env, SWEEPER_SECTIONS))
