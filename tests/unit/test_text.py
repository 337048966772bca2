"""Text from outside, cleaned once at the edge (domain/text.py): always encodable, always bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from run_notifier.adapters.apify_runs import summary_from_run
from run_notifier.domain.text import REPLACEMENT, clean_text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=3000), st.integers(min_value=60, max_value=2500))
def test_cleaned_text_is_utf8_and_within_its_limit(text, limit):
    cleaned = clean_text(text, limit)
    cleaned.encode("utf-8")  # a lone surrogate would raise here (DynamoDB, HTTP bodies and logs would too)
    assert len(cleaned) <= limit
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)
    if len(text) <= limit and text.isprintable():
        assert cleaned == text


def test_a_node_actors_lone_surrogate_and_control_characters_become_replacement_characters():
    summary = summary_from_run({"id": "R", "status": "FAILED", "statusMessage": "bad \ud800 \x00\x1b[31mred\r\n\tok"})
    assert summary.status_message == f"bad {REPLACEMENT} {REPLACEMENT}{REPLACEMENT}[31mred\r\n\tok"
    assert summary.status_message.encode("utf-8")
