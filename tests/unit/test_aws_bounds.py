"""The AWS clients' worst case, from their own settings: what the notification lease is derived from."""

from __future__ import annotations

import socket
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from run_notifier.adapters.aws_bounds import worst_call_secs
from run_notifier.domain.claims import MIN_SEND_SECS
from run_notifier.wiring import _BOTO_CONFIG, _SEND_CONFIG, _TABLE_CONFIG, CLOCK_SKEW_SECS, LEASE_MARGIN_SECS


def test_the_lease_margin_is_the_marks_worst_case_plus_skew():
    assert worst_call_secs(_BOTO_CONFIG) == 3 * (1 + 4) + (1 + 5) + (2 + 5)
    assert worst_call_secs(_TABLE_CONFIG) == 2 * (0.5 + 2) + (1 + 5)
    assert LEASE_MARGIN_SECS == worst_call_secs(_TABLE_CONFIG) + CLOCK_SKEW_SECS == 12


def test_a_send_through_the_aws_sdk_fits_in_the_smallest_time_share():
    assert worst_call_secs(_SEND_CONFIG) <= MIN_SEND_SECS


@pytest.fixture
def silent_endpoint():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


def test_a_call_to_an_endpoint_that_never_answers_ends_within_the_computed_bound(silent_endpoint):
    config = Config(connect_timeout=0.2, read_timeout=0.3, retries={"total_max_attempts": 3, "mode": "standard"})
    dynamodb = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("dynamodb", endpoint_url=silent_endpoint, config=config)
    started = time.monotonic()
    with pytest.raises(BotoCoreError):
        dynamodb.get_item(TableName="runs", Key={"runId": {"S": "R1"}})
    took = time.monotonic() - started
    assert took >= 3 * 0.3  # every attempt waited its read timeout: the retries happened
    assert took <= worst_call_secs(config)
