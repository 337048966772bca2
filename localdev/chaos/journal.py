"""Each worker's journal, from the product's own events: `invoke`/`idle` around each poll, the claims
it takes and closes (`claim RUN KIND`, `close RUN KIND`) and the messages it rejects
(`rejected ID "reason"`). The orchestrator reads it to pick busy victims and attribute duplicates."""

from __future__ import annotations

import json
from pathlib import Path


def last_line(path: Path) -> str:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def open_claims(journal: Path) -> set[tuple[str, str]]:
    held: set[tuple[str, str]] = set()
    for line in journal.read_text().splitlines() if journal.exists() else []:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "claim":
            held.add((parts[1], parts[2]))
        elif len(parts) == 3 and parts[0] == "close":
            held.discard((parts[1], parts[2]))
    return held


def rejections(work: Path) -> dict[str, str]:
    """message ID -> reason, from the MessageRejected events the workers journaled."""
    reasons: dict[str, str] = {}
    for journal in work.glob("worker*.journal"):
        for line in journal.read_text(errors="replace").splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "rejected":
                message_id, _, reason = rest.partition(" ")
                reasons[message_id] = json.loads(reason)
    return reasons
