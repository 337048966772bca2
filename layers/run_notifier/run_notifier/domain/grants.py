"""What the watcher's role may read and publish to, checked against the routes before any send.

IAM grants the role exact secret ARNs (`RoutedSecretArns`, and each destination's own secret)
and exact event buses (`EventBusName`, `RoutedEventBusArns`). A route naming anything else
would be denied at send time, long after the deploy: an AccessDenied that looks permanent on a
bus, or a secret read retried for a day until the DLQ. So the routes are checked against the
grants when they are read, and a route naming an ungranted secret or bus is refused with its
index and the parameter to add it to.

Secrets Manager accepts an ARN without its 6-character suffix, and IAM then compares the full
ARN; the template grants each secret with and without the suffix (`ARN` and `ARN-??????`), so
either form of either side is granted.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from run_notifier.domain.routing import Routes, RoutesError

_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


class Grants(NamedTuple):
    """What the function's role may read and publish to (the template's grants)."""

    secret_arns: frozenset[str]
    event_bus_arns: frozenset[str]
    #: For a bus named by name: arn:<partition>:events:<region>:<account>:event-bus/<name>.
    bus_arn_prefix: str


def secret_granted(arn: str, granted: frozenset[str]) -> bool:
    """The same secret, with or without its suffix on either side (`name` grants `name-??????`)."""
    return any(arn == g or (_SUFFIX.search(arn) and arn[:-7] == g) for g in granted)


def bus_arn(name_or_arn: str, prefix: str) -> str:
    """An EventBridge bus's ARN from its name (or the ARN itself)."""
    return name_or_arn if name_or_arn.startswith("arn:") else f"{prefix}{name_or_arn}"


def check_routes(routes: Routes, grants: Grants) -> None:
    """Raises RoutesError for the first route target naming a secret or bus the role is not granted."""
    for index, route in enumerate(routes.routes):
        for kind, target in route.targets.items():
            if not isinstance(target, dict):
                continue
            for key, value in target.items():
                if key.lower().endswith("secretarn") and not secret_granted(str(value), grants.secret_arns):
                    raise RoutesError(
                        f"routes[{index}].{kind}.{key} names a secret the function may not read: add {value} "
                        "to the RoutedSecretArns parameter"
                    )
                if key == "eventBusName" and bus_arn(str(value), grants.bus_arn_prefix) not in grants.event_bus_arns:
                    raise RoutesError(
                        f"routes[{index}].{kind}.{key} names a bus the function may not publish to: add "
                        f"{bus_arn(str(value), grants.bus_arn_prefix)} to the RoutedEventBusArns parameter"
                    )
