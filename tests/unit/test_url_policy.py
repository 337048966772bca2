"""The one rule for outbound URLs (Apify base URL, Slack and webhook targets)."""

from __future__ import annotations

import pytest
from run_notifier.adapters.url_policy import UrlRefused, check_url, describe


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.attacker.example",
        "http://127.0.0.1.nip.io",
        "http://example.com/hook",
        "ftp://example.com/x",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://[fd00::1]/hook",
        "https://0.0.0.0/hook",
        "https:///no-host",
        "https://example.com:99999/x",
    ],
)
def test_refused(url):
    with pytest.raises(UrlRefused):
        check_url(url, allow_loopback_http=True)


@pytest.mark.parametrize(
    "url",
    ["http://[::1]:8080", "http://localhost:8080", "http://127.0.0.1:9", "https://127.0.0.1:8443/x"],
)
def test_loopback_is_accepted_only_where_allowed(url):
    assert check_url(url, allow_loopback_http=True) == url
    with pytest.raises(UrlRefused):
        check_url(url, allow_loopback_http=False)


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T/B/x", "https://8.8.8.8/hook"])
def test_public_https_is_accepted(url):
    assert check_url(url, allow_loopback_http=False) == url


def test_errors_and_descriptions_never_carry_the_path():
    with pytest.raises(UrlRefused) as refused:
        check_url("http://hooks.example.com/services/SECRETPART", allow_loopback_http=False)
    assert "SECRETPART" not in str(refused.value)
    assert describe("https://hooks.slack.com/services/SECRETPART") == "https://hooks.slack.com"
