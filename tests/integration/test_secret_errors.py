"""A secret that cannot be read says what AWS said: a wrong ARN and a missing permission read differently."""

from __future__ import annotations

import pytest
from run_notifier.adapters.memo import Lazy
from run_notifier.adapters.secret_store import SecretStore, SecretUnavailable


def test_a_missing_secret_names_the_arn_and_awss_error_code(aws_session):
    store = SecretStore(Lazy(lambda: aws_session.client("secretsmanager")), max_age_secs=0)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(SecretUnavailable) as raised:
        store.source(arn, None, "Slack webhook URL")()
    text = str(raised.value)
    assert text.startswith(f"could not read the Slack webhook URL secret {arn}: ResourceNotFoundException: ")
    assert "GetParameterError" not in text


def test_a_readable_secret_never_appears_in_an_error(aws_session):
    client = aws_session.client("secretsmanager")
    arn = client.create_secret(Name="blank-secret-for-test", SecretString="   ")["ARN"]
    store = SecretStore(Lazy(lambda: client), max_age_secs=0)
    with pytest.raises(SecretUnavailable, match="is empty"):
        store.source(arn, None, "webhook signing")()
