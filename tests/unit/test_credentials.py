"""Credential shapes masked whatever their origin (domain/credentials.py): never a secret in a log or a stored error."""

from __future__ import annotations

import pytest
from run_notifier.domain.credentials import holds_credential, mask_credentials

# Made up, and assembled so that no credential-shaped literal sits in the tree.
APIFY = "apify_api_" + "Zq8" * 12
SLACK_BOT = "xoxb-" + "1234-5678-" + "abcdefghij"
WHSEC = "whsec_" + "c2VjcmV0c2VjcmV0c2VjcmV0"
SLACK_HOOK = "https://hooks.slack.com/services/T0SIM/B0SIM/" + "s3cr3tpart" * 2
DISCORD_HOOK = "https://discord.com/api/webhooks/1100000000000000001/" + "tok-EN_" * 5
TEAMS_HOOK = (
    "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016&sig="
    + "S1g" * 10
)
CHAT_HOOK = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=" + "K3y" * 8 + "&token=" + "T0k" * 8
PD_BODY = '{"routing_key": "' + "R0UT1NGK3Y" * 3 + '", "event_action": "trigger"}'


@pytest.mark.parametrize(
    ("text", "secret_part"),
    [
        (f"run ID must be 1-64 characters of [A-Za-z0-9], got '{APIFY}'", APIFY[10:]),
        (f"POST /runs refused: runIds[0] {APIFY}", APIFY[10:]),
        (f"Slack said invalid_auth for {SLACK_BOT}", SLACK_BOT[5:]),
        (f"signing with {WHSEC}", WHSEC[6:]),
        (f"Authorization: Bearer {APIFY[10:]}", APIFY[10:]),
        (f"webhook at {SLACK_HOOK} rejected the message", "s3cr3tpart"),
        (f"Discord at {DISCORD_HOOK} answered 404", "tok-EN_"),
        (f"Teams at {TEAMS_HOOK} answered 400", "S1gS1g"),
        (f"Google Chat at {CHAT_HOOK}", "K3yK3y"),
        (f"PagerDuty answered 400: {PD_BODY}", "R0UT1NGK3Y"),
    ],
)
def test_every_credential_shape_is_masked_and_says_which_it_was(text, secret_part):
    masked = mask_credentials(text)
    assert secret_part not in masked
    assert "***" in masked
    assert holds_credential(text)
    assert not holds_credential(masked)


def test_ordinary_text_is_left_as_it_is():
    for text in (
        "run RunNotify0000001 FAILED: exit code 1 (Proxy unreachable: ECONNREFUSED)",
        "https://console.apify.com/actors/moJRLRc85AitArpNN/runs/HG7ML7M8z78YcAPEB",
        "https://api.apify.com/v2/datasets/dsRunSigned000000/items?format=json",
        "Slack chat.postMessage to C0DEMO refused: channel_not_found",
    ):
        assert mask_credentials(text) == text
