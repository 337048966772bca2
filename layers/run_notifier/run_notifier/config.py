"""The function's environment: one table of (variable, parser, default), read once at cold start.

`VARIABLES` is the only place a setting's default and bounds are written; the template's
parameter defaults are tested against it (tests/unit/test_template.py). A bad value stops
the cold start with a ConfigError that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from run_notifier.adapters.secret_store import Secret, is_signing_secret
from run_notifier.adapters.url_policy import UrlRefused, check_url
from run_notifier.domain.schedules import APIFY_MAX_WAIT_SECS, SQS_MAX_DELAY_SECS, SQS_MAX_VISIBILITY_SECS, Schedule
from run_notifier.domain.statuses import NOTIFIABLE, status_name


class ConfigError(ValueError):
    """The environment is not usable; the message names the variable."""


# --- parsers: raise ValueError with what is wrong; the loader adds the variable's name ---------


def _text(raw: str) -> str:
    return raw


def _secret(raw: str) -> Secret:
    return Secret(raw)


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, got {raw[:40]!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _seconds_list(low: int, high: int) -> Callable[[str], tuple[int, ...]]:
    def parse(raw: str) -> tuple[int, ...]:
        try:
            values = tuple(int(part) for part in raw.split(",") if part.strip())
        except ValueError:
            raise ValueError(f"must be comma-separated whole seconds, got {raw[:40]!r}") from None
        if not values:
            raise ValueError("must list at least one value")
        if any(not low <= value <= high for value in values):
            raise ValueError(f"entries must be {low}..{high} seconds, got {raw[:40]!r}")
        return values

    return parse


def _statuses(raw: str) -> frozenset[str]:
    statuses = frozenset(status_name(part) for part in raw.split(",") if part.strip())
    unknown = statuses - NOTIFIABLE
    if unknown:
        raise ValueError(f"has unknown statuses {sorted(unknown)}; allowed: {sorted(NOTIFIABLE)}")
    return statuses


def _boolean(raw: str) -> bool:
    value = raw.lower()
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f'must be "true" or "false" (or 1 / 0), got {raw[:20]!r}')
    return value in ("true", "1")


def _bot_token(raw: str) -> Secret:
    if not raw.startswith("xox"):
        raise ValueError("must be a Slack bot token (xoxb-...); the value is not shown")
    return Secret(raw)


def _signing_secret(raw: str) -> Secret:
    """A Standard Webhooks secret: `whsec_` and base64 (checked here, so signing cannot fail later)."""
    if not is_signing_secret(raw):
        raise ValueError("must be a Standard Webhooks secret: whsec_ followed by base64 (the value is not shown)")
    return Secret(raw)


class Variable(NamedTuple):
    name: str
    parse: Callable[[str], Any]
    #: The raw default; None: optional, absent means None. REQUIRED: must be set.
    default: str | None


REQUIRED = "<required>"
DEFAULT_NOTIFY_ON = "SUCCEEDED,FAILED,TIMED-OUT,ABORTED,WATCH_EXPIRED"

#: Every variable the code reads. The Settings field of each is its name in lower case.
VARIABLES: tuple[Variable, ...] = (
    Variable("RUNS_TABLE_NAME", _text, REQUIRED),
    Variable("RUN_QUEUE_URL", _text, REQUIRED),
    Variable("APIFY_API_BASE_URL", _text, "https://api.apify.com"),
    Variable("APIFY_TOKEN_SECRET_ARN", _text, None),
    Variable("APIFY_TOKEN", _secret, None),
    Variable("SLACK_WEBHOOK_URL_SECRET_ARN", _text, None),
    Variable("SLACK_WEBHOOK_URL", _secret, None),
    # Slack bot-token mode (chat.postMessage): one token for every channel the routes name.
    Variable("SLACK_BOT_TOKEN_SECRET_ARN", _text, None),
    Variable("SLACK_BOT_TOKEN", _bot_token, None),
    Variable("SLACK_CHANNEL", _text, None),
    Variable("SLACK_API_BASE_URL", _text, "https://slack.com/api"),
    Variable("WEBHOOK_URL", _text, None),
    Variable("WEBHOOK_SECRET_ARN", _text, None),
    Variable("WEBHOOK_SECRET", _signing_secret, None),
    Variable("EVENT_BUS_NAME", _text, None),
    Variable("NOTIFY_ON", _statuses, DEFAULT_NOTIFY_ON),
    Variable("ROUTES_JSON", _text, None),
    Variable("ROUTES_SSM_PARAMETER", _text, None),
    Variable("MAX_WATCH_SECONDS", _integer(60, 366 * 24 * 3600), "604800"),
    Variable("ITEM_TTL_DAYS", _integer(0, 3650), "90"),
    Variable("SECRETS_MAX_AGE_SECONDS", _integer(0, 86400), "300"),
    Variable("LONG_POLL_SCHEDULE", _seconds_list(0, APIFY_MAX_WAIT_SECS), "60,0"),
    Variable("REQUEUE_DELAY_SCHEDULE", _seconds_list(0, SQS_MAX_DELAY_SECS), "5,20,40,65"),
    Variable("MAX_REQUEUE_DELAY_SECONDS", _integer(1, SQS_MAX_DELAY_SECS), "65"),
    Variable("SETTLE_SECONDS", _integer(0, SQS_MAX_DELAY_SECS), "10"),
    # With the template's MaxReceiveCount (11): the last try is about 28 h after the first.
    Variable(
        "RETRY_VISIBILITY_SCHEDULE",
        _seconds_list(0, SQS_MAX_VISIBILITY_SECS),
        "30,120,300,900,1800,3600,7200,14400,28800,43200",
    ),
    # Push (domain/push.py): with INTAKE_URL set, each run gets an ad-hoc Apify webhook to the intake.
    Variable("INTAKE_URL", _text, None),
    Variable("INTAKE_TOKEN_SECRET_ARN", _text, None),
    Variable("INTAKE_TOKEN", _secret, None),
    Variable("SAFETY_NET_DELAY_SCHEDULE", _seconds_list(1, SQS_MAX_DELAY_SECS), "900"),
    Variable("ENABLE_TRACER", _boolean, "false"),
    # Plain http to loopback (local receivers and simulators). Unset: allowed outside Lambda only,
    # because inside Lambda loopback is the Runtime API.
    Variable("ALLOW_LOOPBACK_HTTP", _boolean, None),
)


class Settings(NamedTuple):
    """The validated environment, field for variable; no defaults of its own (see VARIABLES)."""

    runs_table_name: str
    run_queue_url: str
    apify_api_base_url: str
    apify_token_secret_arn: str | None
    apify_token: Secret | None
    slack_webhook_url_secret_arn: str | None
    slack_webhook_url: Secret | None
    slack_bot_token_secret_arn: str | None
    slack_bot_token: Secret | None
    slack_channel: str | None
    slack_api_base_url: str
    webhook_url: str | None
    webhook_secret_arn: str | None
    webhook_secret: Secret | None
    event_bus_name: str | None
    notify_on: frozenset[str]
    routes_json: str | None
    routes_ssm_parameter: str | None
    max_watch_seconds: int
    item_ttl_days: int
    secrets_max_age_seconds: int
    long_poll_schedule: tuple[int, ...]
    requeue_delay_schedule: tuple[int, ...]
    max_requeue_delay_seconds: int
    settle_seconds: int
    retry_visibility_schedule: tuple[int, ...]
    intake_url: str | None
    intake_token_secret_arn: str | None
    intake_token: Secret | None
    safety_net_delay_schedule: tuple[int, ...]
    enable_tracer: bool
    allow_loopback_http: bool

    @property
    def schedule(self) -> Schedule:
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
        return f"{self.intake_url.rstrip('/')}/apify/webhooks" if self.intake_url else None


#: The intake function's variables (functions/webhook_intake): the same rules, its own table.
INTAKE_VARIABLES: tuple[Variable, ...] = (
    Variable("RUN_QUEUE_URL", _text, REQUIRED),
    Variable("INTAKE_TOKEN_SECRET_ARN", _text, None),
    Variable("INTAKE_TOKEN", _secret, None),
    Variable("SECRETS_MAX_AGE_SECONDS", _integer(0, 86400), "300"),
)


class IntakeSettings(NamedTuple):
    run_queue_url: str
    intake_token_secret_arn: str | None
    intake_token: Secret | None
    secrets_max_age_seconds: int


def _ids(raw: str) -> frozenset[str]:
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(i for i in ids if not i.replace("~", "").replace("-", "").replace("_", "").isalnum())
    if bad:
        raise ValueError(f"has entries that are not Apify IDs: {bad[:3]}")
    return ids


#: The discovery sweep's variables (functions/run_sweeper).
SWEEPER_VARIABLES: tuple[Variable, ...] = (
    Variable("RUNS_TABLE_NAME", _text, REQUIRED),
    Variable("RUN_QUEUE_URL", _text, REQUIRED),
    Variable("APIFY_API_BASE_URL", _text, "https://api.apify.com"),
    Variable("APIFY_TOKEN_SECRET_ARN", _text, None),
    Variable("APIFY_TOKEN", _secret, None),
    Variable("SWEEP_LOOKBACK_MINUTES", _integer(1, 7 * 24 * 60), "60"),
    Variable("SWEEP_OVERLAP_SECONDS", _integer(0, 3600), "120"),
    Variable("SWEEP_ACTOR_IDS", _ids, None),
    Variable("SWEEP_TASK_IDS", _ids, None),
    Variable("ITEM_TTL_DAYS", _integer(0, 3650), "90"),
    Variable("SECRETS_MAX_AGE_SECONDS", _integer(0, 86400), "300"),
    Variable("ALLOW_LOOPBACK_HTTP", _boolean, None),
)


class SweeperSettings(NamedTuple):
    runs_table_name: str
    run_queue_url: str
    apify_api_base_url: str
    apify_token_secret_arn: str | None
    apify_token: Secret | None
    sweep_lookback_minutes: int
    sweep_overlap_seconds: int
    sweep_actor_ids: frozenset[str] | None
    sweep_task_ids: frozenset[str] | None
    item_ttl_days: int
    secrets_max_age_seconds: int
    allow_loopback_http: bool


def load_sweeper_settings(env: Mapping[str, str] | None = None) -> SweeperSettings:
    env = os.environ if env is None else env
    values = _read(env, SWEEPER_VARIABLES)
    _check_urls(values, env, ("APIFY_API_BASE_URL",))
    return SweeperSettings(**values)


def _check_urls(values: dict[str, Any], env: Mapping[str, str], names: tuple[str, ...]) -> None:
    """The one URL rule (adapters/url_policy.py), with the variable's name in the error."""
    if values["allow_loopback_http"] is None:
        values["allow_loopback_http"] = "AWS_LAMBDA_RUNTIME_API" not in env
    values["apify_api_base_url"] = values["apify_api_base_url"].rstrip("/")
    for name in names:
        url = values[name.lower()]
        try:
            if url is not None:
                check_url(url, allow_loopback_http=values["allow_loopback_http"])
        except UrlRefused as error:
            raise ConfigError(f"{name} {error}") from None


def _read(env: Mapping[str, str], table: tuple[Variable, ...]) -> dict[str, Any]:
    missing = [v.name for v in table if v.default == REQUIRED and not env.get(v.name, "").strip()]
    if missing:
        raise ConfigError(f"missing required environment variables: {', '.join(missing)}")
    values: dict[str, Any] = {}
    for variable in table:
        raw = env.get(variable.name, "").strip() or variable.default
        try:
            values[variable.name.lower()] = None if raw is None else variable.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{variable.name} {error}") from None
    return values


def load_intake_settings(env: Mapping[str, str] | None = None) -> IntakeSettings:
    values = _read(os.environ if env is None else env, INTAKE_VARIABLES)
    if not (values["intake_token_secret_arn"] or values["intake_token"]):
        raise ConfigError("the intake needs INTAKE_TOKEN_SECRET_ARN (or INTAKE_TOKEN for local use)")
    return IntakeSettings(**values)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment; raise ConfigError naming the bad variable."""
    env = os.environ if env is None else env
    values = _read(env, VARIABLES)
    _check_urls(values, env, ("APIFY_API_BASE_URL", "WEBHOOK_URL", "INTAKE_URL", "SLACK_API_BASE_URL"))
    values["slack_api_base_url"] = values["slack_api_base_url"].rstrip("/")
    if values["slack_channel"] and not (values["slack_bot_token_secret_arn"] or values["slack_bot_token"]):
        raise ConfigError("SLACK_CHANNEL needs SLACK_BOT_TOKEN_SECRET_ARN or SLACK_BOT_TOKEN (xoxb-...) to post with")
    if values["webhook_url"] and not (values["webhook_secret_arn"] or values["webhook_secret"]):
        raise ConfigError("WEBHOOK_URL needs WEBHOOK_SECRET_ARN or WEBHOOK_SECRET (whsec_...) to sign with")
    if values["intake_url"] and not (values["intake_token_secret_arn"] or values["intake_token"]):
        raise ConfigError("INTAKE_URL needs INTAKE_TOKEN_SECRET_ARN or INTAKE_TOKEN (the webhooks it arms send it)")
    return Settings(**values)
