"""The one rule for where the notifier may send a request (the Apify API and every destination).

* ``https`` to a host name, or to a public IP address. An IP literal in a private,
  link-local (the instance metadata service at 169.254.169.254), loopback, multicast or
  reserved range is refused: a routes document must not turn the notifier into a way in.
* Plain ``http`` only to loopback (``localhost``, 127.0.0.0/8, ``::1``), for local use, and only
  when loopback is allowed at all: inside Lambda it is not, because the Runtime API listens there.

A host *name* that resolves to a private address is not caught here (that needs the resolver
at request time); it is only reachable by someone who can already edit the routes or settings.
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """The URL breaks the rule; the message says which part, never the whole URL."""


def check_url(url: str, *, allow_loopback_http: bool) -> str:
    """Return the URL if the rule allows it; raise UrlRefused otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise UrlRefused("not a valid URL") from None
    if not host:
        raise UrlRefused("URL has no host")
    loopback = is_loopback(host)
    if parts.scheme == "http":
        if loopback and allow_loopback_http:
            return url
        raise UrlRefused("must be https (plain http only to loopback, for local use)")
    if parts.scheme != "https":
        raise UrlRefused(f"must be https, got scheme {parts.scheme!r}")
    if loopback and allow_loopback_http:
        return url
    if _is_internal_address(host):
        raise UrlRefused(f"must not target an internal address ({host})")
    return url


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal; ``localhost.example`` and ``127.0.0.1.nip.io`` are not."""
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _is_internal_address(host: str) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return host.lower() == "localhost"
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def describe(url: str) -> str:
    """A URL safe to log: scheme and host only (a Slack webhook URL's path is a secret)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or '?'}"
    except ValueError:
        return "<invalid URL>"
