"""Kinds whose target is one webhook URL that is itself a secret (Teams, Discord, Slack's incoming
webhooks): the keys a route gives it by, the default target from a kind's settings, and the
URL's source (Secrets Manager by ARN, read on first use, or plain for local use)."""

from __future__ import annotations

from run_notifier.adapters.secret_store import Secret, SecretSource
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.domain.ports import TargetSchema

URL_KEYS = frozenset({"webhookUrl", "webhookUrlSecretArn"})
#: A route's target: `{"webhookUrlSecretArn": "arn:..."}` (deployed) or `{"webhookUrl": "https://..."}` (local).
SCHEMA = TargetSchema(keys=URL_KEYS, required_one_of=URL_KEYS)


def default_target(secret_arn: str | None, plain: Secret | None) -> Target | None:
    """A target from a secret URL's settings: its ARN, else its plain value; None without either."""
    if secret_arn:
        return {"webhookUrlSecretArn": secret_arn}
    if plain:
        return {"webhookUrl": plain}
    return None


def source(target: Target, context: DestinationContext, what: str) -> SecretSource:
    """Where the target's secret URL is read from (by ARN through Secrets Manager, or plain)."""
    return context.secrets.source(str(target.get("webhookUrlSecretArn") or "") or None, target.get("webhookUrl"), what)
