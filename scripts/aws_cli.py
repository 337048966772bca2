"""What the command-line scripts share for AWS: a session from --region/--profile, and botocore's
errors as one line that says what to do (exit code 2 in the scripts)."""

from __future__ import annotations

import os
from typing import Any


class Problem(Exception):
    """Something the user fixes before running again: printed as one line, exit code 2."""


def session(region: str | None, profile: str | None) -> Any:
    import boto3

    # botocore itself reads only AWS_DEFAULT_REGION; AWS_REGION is what Lambda and most tools set.
    return boto3.session.Session(region_name=region or os.environ.get("AWS_REGION"), profile_name=profile)


def aws_problem(error: Exception, what: str) -> Problem:
    """botocore's errors (no credentials, no region, an unknown profile, an AWS refusal) as one line."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

    if isinstance(error, NoCredentialsError):
        return Problem("no AWS credentials: set AWS_PROFILE (or pass --profile) or AWS_ACCESS_KEY_ID/SECRET")
    if isinstance(error, NoRegionError):
        return Problem("no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    if isinstance(error, ProfileNotFound):
        return Problem(f"{error}")
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return Problem(f"{what}: {detail.get('Code', 'error')}: {str(detail.get('Message', ''))[:200]}")
    return Problem(f"{what}: {type(error).__name__}: {str(error)[:200]}")
