"""Text from outside (Apify's runs, Actors and logs) made safe to record and announce, once, at the edge.

A Node Actor can set a status message with a lone surrogate (`setStatusMessage('\\ud800')`): such
a string cannot be encoded as UTF-8, so DynamoDB, every HTTP body and every log line would refuse
it, and the run would never be recorded or announced. Control characters break chat layouts and
terminal logs. Both are replaced by U+FFFD here, and the length is capped with a marker, before
the text reaches the ledger or any destination.
"""

from __future__ import annotations

import re

#: Lone surrogates, and control characters but the tab, the line feed and the carriage return (C0, DEL, C1).
_UNSAFE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
REPLACEMENT = "\ufffd"


def clean_text(text: str, limit: int) -> str:
    """``text`` with lone surrogates and control characters replaced and at most ``limit`` characters
    (cut with a marker that says how much was cut)."""
    cleaned = _UNSAFE.sub(REPLACEMENT, text)
    if len(cleaned) <= limit:
        return cleaned
    marker = f" … [cut {len(cleaned) - limit + 40} characters]"
    return cleaned[: max(0, limit - 40)] + marker
