"""`bimpe-tui watch`'s filter: which events each option keeps (the process is in tests/cli)."""

from __future__ import annotations

import dataclasses

from bimpe_tui.book import Entry
from bimpe_tui.watch import WatchFilter
from tests.bookkit import bare_entry


def paused() -> Entry:
    entry = bare_entry()
    conversation = dataclasses.replace(entry.conversation, is_ai_chat_paused=True)
    return dataclasses.replace(entry, conversation=conversation)


def test_attention_only_keeps_a_wait_for_a_person_where_the_ai_is_only_paused() -> None:
    entry = paused()
    only = WatchFilter(attention_only=True)
    assert not only.keeps("message", entry)
    assert not only.keeps("alert", entry)
    # A customer waiting for a person is what --attention-only is for.
    assert only.keeps("waiting", entry, wait=True)
    assert only.keeps("alert", entry, wait=True)
    # The other filters still apply.
    assert not WatchFilter(attention_only=True, agents=frozenset({"ag_2"})).keeps(
        "waiting",
        entry,
        wait=True,
    )
    assert not WatchFilter(attention_only=True, events=frozenset({"message"})).keeps(
        "waiting",
        entry,
        wait=True,
    )
