"""Slack's documented limits, applied to every message after it is escaped and filled: bounded by construction.

A run's status message in a route's header template, a long Actor name, a log tail: whatever
went in, what is posted stays within Block Kit's limits (header 150 characters, a section's text
3,000, a field 2,000, a button's text 75, 50 blocks, 10 fields, the message's `text` 40,000), so
Slack never answers `invalid_blocks` or `msg_too_long` for a run's content. A cut never splits an
escaped entity (`&amp;`) or a link (`<url|text>`), and closes a code block it cut open.
"""

from __future__ import annotations

from typing import Any

TEXT_CHARS = 40_000
HEADER_CHARS = 150
SECTION_CHARS = 3_000
FIELD_CHARS = 2_000
CONTEXT_CHARS = 2_000
BUTTON_CHARS = 75
MAX_BLOCKS = 50
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: cut before an entity or a link it would split, an ellipsis
    after it, and a code block it leaves open closed."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS) - 3  # room for the ellipsis and a closing fence
    kept = text[: max(0, room)]
    amp, semi = kept.rfind("&"), kept.rfind(";")
    if amp > semi and len(kept) - amp <= 6:  # inside `&amp;`, `&lt;` or `&gt;`
        kept = kept[:amp]
    opened, closed = kept.rfind("<"), kept.rfind(">")
    if opened > closed:  # inside `<url|text>` or a mention
        kept = kept[:opened]
    kept += ELLIPSIS
    if kept.count("```") % 2:
        kept += "```"
    return kept


def bounded(message: dict[str, Any]) -> dict[str, Any]:
    """The message with every text within Slack's limits, and no more blocks, fields or elements than allowed."""
    out = dict(message)
    if isinstance(out.get("text"), str):
        out["text"] = cut(out["text"], TEXT_CHARS)
    blocks = out.get("blocks")
    if isinstance(blocks, list):
        out["blocks"] = [_block(b) for b in blocks[:MAX_BLOCKS]]
    return out


def _text_object(value: Any, limit: int) -> Any:
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return {**value, "text": cut(value["text"], limit)}
    return value


def _block(block: Any) -> Any:
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    out = dict(block)
    if kind == "header":
        out["text"] = _text_object(block.get("text"), HEADER_CHARS)
    elif kind == "section":
        if "text" in block:
            out["text"] = _text_object(block["text"], SECTION_CHARS)
        if isinstance(block.get("fields"), list):
            out["fields"] = [_text_object(f, FIELD_CHARS) for f in block["fields"][:MAX_FIELDS]]
    elif kind == "context" and isinstance(block.get("elements"), list):
        out["elements"] = [_text_object(e, CONTEXT_CHARS) for e in block["elements"][:MAX_CONTEXT_ELEMENTS]]
    elif kind == "actions" and isinstance(block.get("elements"), list):
        out["elements"] = [
            {**e, "text": _text_object(e.get("text"), BUTTON_CHARS)} if isinstance(e, dict) and "text" in e else e
            for e in block["elements"]
        ]
    return out
