"""The function's environment, parsed and validated once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from run_notifier.redelivery import DEFAULT_RETRY_VISIBILITY_SECS, validate_retry_schedule
from run_notifier.schedule import Schedule, parse_int_list
from run_notifier.secret import Secret
from run_notifier.statuses import DEFAULT_NOTIFY_ON, NOTIFIABLE

DEFAULT_APIFY_API_BASE_URL = "https://api.apify.com"


class ConfigError(ValueError):
    """The environment is not usable; the message names the variable."""


class Settings(NamedTuple):
    """The validated environment. A NamedTuple: defining a dataclass this size costs ~2 ms of cold start."""

    runs_table_name: str
    run_queue_url: str
    apify_api_base_url: str = DEFAULT_APIFY_API_BASE_URL
    apify_token_secret_arn: str | None = None
    apify_token: Secret | None = None
    slack_webhook_url_secret_arn: str | None = None
    slack_webhook_url: Secret | None = None
    webhook_url: str | None = None
    webhook_secret_arn: str | None = None
    webhook_secret: Secret | None = None
    event_bus_name: str | None = None
    notify_on: frozenset[str] = DEFAULT_NOTIFY_ON
    routes_json: str | None = None
    routes_ssm_parameter: str | None = None
    max_watch_secs: int = 7 * 24 * 3600
    item_ttl_days: int = 90
    secrets_max_age_secs: int = 300
    schedule: Schedule = Schedule()
    retry_visibility_secs: tuple[int, ...] = DEFAULT_RETRY_VISIBILITY_SECS
    enable_tracer: bool = False

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_webhook_url_secret_arn or self.slack_webhook_url)

    @property
    def webhook_configured(self) -> bool:
        return bool(self.webhook_url)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    raw = _get(env, name)
    return Secret(raw) if raw else None


def _status_name(text: str) -> str:
    """Apify's statuses use hyphens, the watcher's own outcomes underscores; accept either spelling."""
    name = text.strip().upper()
    for candidate in (name.replace("_", "-"), name.replace("-", "_")):
        if candidate in NOTIFIABLE:
            return candidate
    return name


def parse_notify_on(raw: str | None) -> frozenset[str]:
    if raw is None:
        return DEFAULT_NOTIFY_ON
    statuses = frozenset(_status_name(part) for part in raw.split(",") if part.strip())
    unknown = statuses - NOTIFIABLE
    if unknown:
        raise ConfigError(f"NOTIFY_ON has unknown statuses {sorted(unknown)}; allowed: {sorted(NOTIFIABLE)}")
    return statuses


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment; raise ConfigError naming the bad variable."""
    env = os.environ if env is None else env
    missing = [name for name in ("RUNS_TABLE_NAME", "RUN_QUEUE_URL") if not _get(env, name)]
    if missing:
        raise ConfigError(f"missing required environment variables: {', '.join(missing)}")
    base_url = (_get(env, "APIFY_API_BASE_URL") or DEFAULT_APIFY_API_BASE_URL).rstrip("/")
    if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError("APIFY_API_BASE_URL must be https (plain http only for loopback)")
    webhook_url = _get(env, "WEBHOOK_URL")
    webhook_secret_arn = _get(env, "WEBHOOK_SECRET_ARN")
    webhook_secret = _secret(env, "WEBHOOK_SECRET")
    if webhook_url and not (webhook_secret_arn or webhook_secret):
        raise ConfigError("WEBHOOK_URL needs WEBHOOK_SECRET_ARN or WEBHOOK_SECRET (whsec_...) to sign with")
    try:
        schedule = Schedule(
            long_poll_secs=parse_int_list(env.get("LONG_POLL_SCHEDULE", "") or "60,0", "LONG_POLL_SCHEDULE"),
            requeue_delays_secs=parse_int_list(
                env.get("REQUEUE_DELAY_SCHEDULE", "") or "5,20,40,65", "REQUEUE_DELAY_SCHEDULE"
            ),
            max_requeue_delay_secs=_int(env, "MAX_REQUEUE_DELAY_SECONDS", 65, 1, 900),
            settle_secs=_int(env, "SETTLE_SECONDS", 10, 0, 900),
        )
        retry_raw = _get(env, "RETRY_VISIBILITY_SCHEDULE")
        retry_visibility_secs = (
            validate_retry_schedule(parse_int_list(retry_raw, "RETRY_VISIBILITY_SCHEDULE"))
            if retry_raw
            else DEFAULT_RETRY_VISIBILITY_SECS
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return Settings(
        runs_table_name=env["RUNS_TABLE_NAME"].strip(),
        run_queue_url=env["RUN_QUEUE_URL"].strip(),
        apify_api_base_url=base_url,
        apify_token_secret_arn=_get(env, "APIFY_TOKEN_SECRET_ARN"),
        apify_token=_secret(env, "APIFY_TOKEN"),
        slack_webhook_url_secret_arn=_get(env, "SLACK_WEBHOOK_URL_SECRET_ARN"),
        slack_webhook_url=_secret(env, "SLACK_WEBHOOK_URL"),
        webhook_url=webhook_url,
        webhook_secret_arn=webhook_secret_arn,
        webhook_secret=webhook_secret,
        event_bus_name=_get(env, "EVENT_BUS_NAME"),
        notify_on=parse_notify_on(_get(env, "NOTIFY_ON")),
        routes_json=_get(env, "ROUTES_JSON"),
        routes_ssm_parameter=_get(env, "ROUTES_SSM_PARAMETER"),
        max_watch_secs=_int(env, "MAX_WATCH_SECONDS", 7 * 24 * 3600, 60, 366 * 24 * 3600),
        item_ttl_days=_int(env, "ITEM_TTL_DAYS", 90, 0, 3650),
        secrets_max_age_secs=_int(env, "SECRETS_MAX_AGE_SECONDS", 300, 0, 86400),
        schedule=schedule,
        retry_visibility_secs=retry_visibility_secs,
        enable_tracer=(_get(env, "ENABLE_TRACER") or "false").lower() == "true",
    )
