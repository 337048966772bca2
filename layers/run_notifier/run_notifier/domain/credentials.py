"""Anything shaped like a credential, masked whatever its origin: before the process has read it.

The log scrubber masks every secret value the process has read (adapters/secret_store.py). A
secret it has never read is not among them: the Apify token pasted as a run ID into a cold
watcher, or sent in `POST /runs` to the intake (which never holds it), a receiver's error body
that echoes its own webhook URL or routing key. These shapes are masked in every log line and
every stored error, whoever wrote them: a false positive costs a few characters of a message,
a miss costs a credential.
"""

from __future__ import annotations

import re

MASK = "***"

#: (pattern, replacement): what stays is what says which credential it was, never its secret part.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"apify_api_[A-Za-z0-9]{6,}"), f"apify_api_{MASK}"),
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]{6,}"), f"xox-{MASK}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{6,}"), f"whsec_{MASK}"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # Slack incoming webhooks: /services/T…/B…/<secret>
    (re.compile(r"(/services/T[A-Z0-9]+/B[A-Z0-9]+/)[A-Za-z0-9]{6,}"), rf"\1{MASK}"),
    # Discord webhooks: /api/webhooks/<id>/<token>
    (re.compile(r"(/api/webhooks/\d+/)[A-Za-z0-9_-]{6,}"), rf"\1{MASK}"),
    # Teams Workflows (Logic Apps, Power Automate) and Google Chat: the signature and keys in the query
    (re.compile(r"(?i)([?&](?:sig|key|token|code)=)[^&\s\"'<>]{6,}"), rf"\1{MASK}"),
    # Teams' old connectors: /webhookb2/<guid>@<guid>/IncomingWebhook/<id>/<guid>
    (re.compile(r"(?i)(/IncomingWebhook/)[A-Za-z0-9/_-]{6,}"), rf"\1{MASK}"),
    # PagerDuty's routing key, as it appears in an Events API body or an error echoing it
    (re.compile(r"(\"?routing_key\"?\s*[:=]\s*\"?)[A-Za-z0-9]{6,}"), rf"\1{MASK}"),
)


def mask_credentials(text: str) -> str:
    """``text`` with every credential-shaped part masked (tokens, signing secrets, webhook URL secrets)."""
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def holds_credential(text: str) -> bool:
    """True when something in ``text`` is shaped like a credential."""
    return any(pattern.search(text) for pattern, _ in _SHAPES)
