"""Alerts: matching messages, alerts from listings, the rate limit, and terminal bytes."""

from __future__ import annotations

import re

import pytest

from bimpe_tui.alerts import (
    BODY_CHARS,
    MAX_SCAN_CHARS,
    MAX_SPANS,
    TITLE_CHARS,
    Alert,
    Alerter,
    AlertRules,
    Match,
    attention_alert,
    conversation_alerts,
    highlight_alert,
    new_conversation_alert,
    printable,
    terminal_bytes,
)
from bimpe_tui.api.models import Conversation, Message
from bimpe_tui.config import AlertSettings

ESC = "\x1b"
BEL = "\x07"
ST = "\x1b\\"


def message(text: str | None, role: str = "customer", mid: str = "m_1") -> Message:
    return Message(id=mid, role=role, created_at="2026-11-23T10:00:00Z", message=text)


def conversation(
    cid: str = "c_1",
    *,
    attention: bool = False,
    who: str = "alice",
    updated: str = "2026-11-23T10:00:00Z",
    preview: str | None = None,
) -> Conversation:
    return Conversation(
        id=cid,
        channel_type="whatsapp",
        needs_attention=attention,
        updated_at=updated,
        channel_user_username=who,
        last_message_preview=preview,
    )


def rules(**settings: object) -> AlertRules:
    return AlertRules(AlertSettings(**settings))  # type: ignore[arg-type]


def alert(key: str, title: str = "alice · whatsapp · Shop", body: str = "hi") -> Alert:
    return Alert(kind="highlight", conversation_id="c_1", title=title, body=body, key=key)


# -- matching messages ---------------------------------------------------------------------


def test_words_match_whole_words_in_any_case_with_their_spans() -> None:
    found = rules(words=("refund",)).match_message(message("I want a REFUND. Refund!"), False)
    assert found == Match(words=("refund",), spans=((9, 15), (17, 23)))


@pytest.mark.parametrize("text", ["refunds please", "prerefund", "refund_id", "refund2"])
def test_a_word_inside_a_longer_word_does_not_match(text: str) -> None:
    assert rules(words=("refund",)).match_message(message(text), False) is None


def test_a_phrase_matches_across_any_run_of_spaces_and_words_may_start_with_symbols() -> None:
    matcher = rules(words=("money back", "#urgent", "c++"))
    text = "Money \n back now, #URGENT, I use C++"
    found = matcher.match_message(message(text), False)
    assert found is not None
    assert found.words == ("money back", "#urgent", "c++")
    assert found.spans == ((0, 12), (18, 25), (33, 36))
    assert [text[a:b] for a, b in found.spans] == ["Money \n back", "#URGENT", "C++"]


def test_regexes_match_ignoring_case_with_their_spans() -> None:
    matcher = rules(regexes=(r"order #?\d{5}",))
    found = matcher.match_message(message("about ORDER #12345 and order 54321"), False)
    assert found == Match(regexes=(r"order #?\d{5}",), spans=((6, 18), (23, 34)))
    assert matcher.match_message(message("order 1234"), False) is None


def test_overlapping_spans_of_words_and_regexes_are_merged() -> None:
    matcher = rules(words=("refund",), regexes=(r"full refund \w+",))
    found = matcher.match_message(message("a full refund today"), False)
    assert found is not None
    assert found.words == ("refund",)
    assert found.regexes == (r"full refund \w+",)
    assert found.spans == ((2, 19),)
    assert found.describe() == r"word 'refund', regex 'full refund \\w+'"


def test_a_regex_empty_match_does_not_count() -> None:
    # The config refuses patterns that match empty text; a lookahead can still
    # match empty at one place and must not make every such message alert.
    matcher = rules(regexes=(r"(?=x)",))
    assert matcher.match_message(message("xxx"), False) is None


@pytest.mark.parametrize(
    ("when", "needs_attention", "alerts"),
    [
        ("needs_attention", True, True),
        ("needs_attention", False, False),
        ("always", False, True),
        ("always", True, True),
    ],
)
def test_roles_apply_as_roles_when_says(when: str, needs_attention: bool, alerts: bool) -> None:
    matcher = rules(roles=("customer",), roles_when=when)
    found = matcher.match_message(message("hello", role="Customer"), needs_attention)
    assert (found == Match(role="customer")) is alerts
    assert matcher.match_message(message("hello", role="assistant"), True) is None


def test_a_message_without_text_matches_only_by_role() -> None:
    matcher = rules(words=("refund",), roles=("customer",), roles_when="always")
    assert matcher.match_message(message(None), False) == Match(role="customer")
    assert rules(words=("refund",)).match_message(message(None), False) is None


def test_no_rules_match_nothing() -> None:
    assert rules().match_message(message("refund order #12345"), True) is None


def test_a_one_megabyte_message_is_scanned_only_up_to_the_cap() -> None:
    matcher = rules(words=("refund",), regexes=(r"order #?\d{5}",))
    tail_only = "x " * 500_000 + "refund order 12345"
    assert len(tail_only) > 1_000_000
    assert matcher.match_message(message(tail_only), False) is None
    head = "refund " + "y" * 1_000_000
    found = matcher.match_message(message(head), False)
    assert found == Match(words=("refund",), spans=((0, 6),))


def test_a_backtracking_regex_on_a_huge_message_stays_bounded() -> None:
    # `a.*b` on 1 MB of "a" would backtrack ~5 * 10**11 steps (hours) if the
    # whole text were scanned; with the cap it is done at once. No timing is
    # asserted: a regression hangs until pytest's timeout instead.
    matcher = rules(regexes=("a.*b",))
    assert matcher.match_message(message("a" * 1_000_000), False) is None


def test_a_word_repeated_all_over_a_huge_message_gives_a_bounded_number_of_spans() -> None:
    found = rules(words=("ha",)).match_message(message("ha " * 400_000), False)
    assert found is not None
    assert len(found.spans) == MAX_SPANS
    assert all(end <= MAX_SCAN_CHARS for _, end in found.spans)


# -- alerts from messages and listings -----------------------------------------------------


def test_alerts_have_a_title_body_and_key_per_kind() -> None:
    conv = conversation(attention=True, preview="where is my order?")
    waiting = attention_alert(conv, agent="Shop")
    assert waiting == Alert(
        kind="attention",
        conversation_id="c_1",
        title="alice · whatsapp · Shop",
        body="needs attention: where is my order?",
        key="attention:c_1:2026-11-23T10:00:00Z",
    )
    new = new_conversation_alert(conversation(), agent="Shop")
    assert (new.kind, new.body, new.key) == ("new_conversation", "new conversation", "new:c_1")
    found = Match(words=("refund",), spans=((9, 15),))
    hit = highlight_alert(conv, message("I want a refund"), found, agent="Shop")
    assert (hit.kind, hit.body, hit.key) == (
        "highlight",
        "customer: I want a refund",
        "highlight:c_1:m_1",
    )


def test_a_highlight_deep_in_a_long_message_shows_the_hit_in_the_body() -> None:
    text = "blah " * 200 + "I want a REFUND now"
    found = rules(words=("refund",)).match_message(message(text), False)
    assert found is not None
    hit = highlight_alert(conversation(), message(text), found, agent="Shop")
    assert "REFUND" in hit.body
    assert hit.body.startswith("customer: …")
    assert len(hit.body) <= BODY_CHARS


def test_alert_texts_from_a_hostile_server_are_one_printable_line() -> None:
    evil = "bob\x1b]0;pwned\x07\u202egnp.exe\n\r\x9d2;x\x9c" + "z" * 500
    conv = conversation(who=evil, preview=evil)
    for made in (
        attention_alert(conv, agent=evil),
        new_conversation_alert(conv, agent=evil),
        highlight_alert(conv, message(evil, role=evil), Match(role="x"), agent=evil),
    ):
        for text in (made.title, made.body):
            assert text.isprintable(), repr(text)
        assert len(made.title) <= TITLE_CHARS
        assert len(made.body) <= BODY_CHARS


def test_the_first_listing_is_a_baseline_and_alerts_nothing() -> None:
    matcher = rules(new_conversation=True)
    assert conversation_alerts(matcher, None, [conversation(attention=True)], agent="S") == []


def test_a_conversation_that_starts_needing_attention_alerts_once_per_change() -> None:
    matcher = rules()
    calm = {"c_1": conversation()}
    waiting = [conversation(attention=True, updated="t2")]
    [made] = conversation_alerts(matcher, calm, waiting, agent="S")
    assert (made.kind, made.key) == ("attention", "attention:c_1:t2")
    # Still waiting in the next listing: nothing new.
    before = {c.id: c for c in waiting}
    assert conversation_alerts(matcher, before, waiting, agent="S") == []
    # Attention alerts can be turned off.
    assert conversation_alerts(rules(attention=False), calm, waiting, agent="S") == []


def test_a_new_conversation_alerts_only_when_asked() -> None:
    fresh = [conversation("c_2")]
    assert conversation_alerts(rules(), {}, fresh, agent="S") == []
    [made] = conversation_alerts(rules(new_conversation=True), {}, fresh, agent="S")
    assert made.key == "new:c_2"
    # A new one that already needs attention gives both alerts.
    both = conversation_alerts(
        rules(new_conversation=True), {}, [conversation("c_3", attention=True)], agent="S"
    )
    assert [a.kind for a in both] == ["new_conversation", "attention"]


# -- the rate limit, the summary and dedupe ------------------------------------------------


def test_the_first_alert_rings_at_once_and_the_next_ones_fold_until_the_interval() -> None:
    alerter = Alerter(AlertSettings(min_interval=5))
    first = alerter.offer(alert("a", title="alice"), now=100.0)
    assert first.action == "notify"
    assert (first.title, first.body, first.terminal) == ("alice", "hi", "\a")
    assert alerter.offer(alert("b", title="bob"), now=101.0).action == "fold"
    assert alerter.offer(alert("c", title="carol"), now=102.0).action == "fold"
    assert alerter.pending == 2
    assert alerter.next_flush_at() == 105.0
    assert alerter.flush(now=104.9) is None
    summary = alerter.flush(now=105.0)
    assert summary is not None
    assert summary.action == "notify"
    assert summary.title == "bimpe-tui"
    assert summary.body == "2 more alerts: bob; carol"
    assert [a.key for a in summary.alerts] == ["b", "c"]
    assert summary.terminal == "\a"
    assert alerter.pending == 0
    assert alerter.next_flush_at() is None
    assert alerter.flush(now=200.0) is None


def test_one_folded_alert_is_given_as_itself() -> None:
    alerter = Alerter(AlertSettings(min_interval=5))
    alerter.offer(alert("a"), now=0.0)
    alerter.offer(alert("b", title="bob", body="refund"), now=1.0)
    later = alerter.flush(now=5.0)
    assert later is not None
    assert (later.title, later.body) == ("bob", "refund")


def test_after_the_summary_the_interval_starts_again() -> None:
    alerter = Alerter(AlertSettings(min_interval=5))
    alerter.offer(alert("a"), now=0.0)
    alerter.offer(alert("b"), now=1.0)
    assert alerter.flush(now=6.0) is not None
    assert alerter.offer(alert("c"), now=7.0).action == "fold"
    assert alerter.offer(alert("d"), now=11.0).action == "notify"  # with c, not flushed yet


def test_an_offer_when_due_brings_the_unflushed_ones_along() -> None:
    alerter = Alerter(AlertSettings(min_interval=5))
    alerter.offer(alert("a"), now=0.0)
    alerter.offer(alert("b", title="bob"), now=1.0)
    late = alerter.offer(alert("c", title="carol"), now=9.0)
    assert late.action == "notify"
    assert [a.key for a in late.alerts] == ["b", "c"]
    assert late.body == "2 more alerts: bob; carol"


def test_the_same_alert_is_never_raised_twice() -> None:
    alerter = Alerter(AlertSettings(min_interval=5))
    assert alerter.offer(alert("k"), now=0.0).action == "notify"
    assert alerter.offer(alert("k"), now=1.0).action == "duplicate"
    assert alerter.offer(alert("k"), now=1000.0).action == "duplicate"
    assert alerter.offer(alert("j"), now=2.0).action == "fold"
    assert alerter.offer(alert("j"), now=3.0).action == "duplicate"
    assert alerter.pending == 1


def test_the_memory_of_keys_is_bounded() -> None:
    alerter = Alerter(AlertSettings(min_interval=0), max_remembered=2)
    for key in ("a", "b", "c"):
        assert alerter.offer(alert(key), now=0.0).action == "notify"
    assert alerter.offer(alert("c"), now=0.0).action == "duplicate"
    assert alerter.offer(alert("a"), now=0.0).action == "notify"  # the oldest was forgotten


def test_a_zero_interval_rings_for_every_alert() -> None:
    alerter = Alerter(AlertSettings(min_interval=0))
    assert [alerter.offer(alert(k), now=1.0).action for k in "abc"] == ["notify"] * 3


def test_a_clock_that_goes_back_does_not_mute_alerts() -> None:
    alerter = Alerter(AlertSettings(min_interval=5))
    alerter.offer(alert("a"), now=100.0)
    assert alerter.offer(alert("b"), now=50.0).action == "notify"


def test_notify_none_still_decides_but_writes_nothing() -> None:
    alerter = Alerter(AlertSettings(notify="none"))
    decision = alerter.offer(alert("a"), now=0.0)
    assert decision.action == "notify"
    assert decision.terminal == ""


def test_the_decision_carries_the_exact_bytes_of_the_mode() -> None:
    alerter = Alerter(AlertSettings(notify="osc9"), tmux_passthrough=True)
    decision = alerter.offer(alert("a", title="alice", body="hi"), now=0.0)
    assert decision.terminal == f"{ESC}Ptmux;{ESC}{ESC}]9;alice: hi{ESC}{ESC}\\{ST}{BEL}"


# -- the bytes written to the terminal -----------------------------------------------------


def test_the_escape_sequences_are_exact() -> None:
    assert terminal_bytes("none", "t", "b") == ""
    assert terminal_bytes("bell", "t", "b") == "\x07"
    assert terminal_bytes("osc9", "alice", "needs attention") == (
        "\x1b]9;alice: needs attention\x1b\\\x07"
    )
    assert terminal_bytes("osc9", "", "hi") == "\x1b]9;hi\x1b\\\x07"
    assert terminal_bytes("osc777", "alice", "needs attention") == (
        "\x1b]777;notify;alice;needs attention\x1b\\\x07"
    )


def test_tmux_passthrough_wraps_the_osc_and_doubles_its_escapes() -> None:
    assert terminal_bytes("osc777", "a", "b", tmux_passthrough=True) == (
        "\x1bPtmux;\x1b\x1b]777;notify;a;b\x1b\x1b\\\x1b\\\x07"
    )
    # A bell needs no passthrough: tmux passes it on and flags the window.
    assert terminal_bytes("bell", "a", "b", tmux_passthrough=True) == "\x07"


def test_an_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown notify mode"):
        terminal_bytes("beep", "a", "b")  # type: ignore[arg-type]


def test_an_osc9_text_never_starts_like_a_conemu_command() -> None:
    assert terminal_bytes("osc9", "4;3;50", "x") == "\x1b]9;bimpe-tui: 4;3;50: x\x1b\\\x07"


def test_the_osc777_title_loses_its_semicolons_the_body_keeps_them() -> None:
    assert terminal_bytes("osc777", "a;b;;c", "x;y") == "\x1b]777;notify;a b c;x;y\x1b\\\x07"
    assert terminal_bytes("osc777", ";;", "x") == "\x1b]777;notify;bimpe-tui;x\x1b\\\x07"


HOSTILE = [
    "\x1b\\\x1b]0;pwned\x07",  # end the OSC with ST, then retitle the window
    "\x07\x1b[2J\x1b[31mred",  # end it with BEL, then clear the screen
    "\x9c\x9d0;pwned\x9c\x9b31m",  # the same with 8-bit C1 controls
    "\x1bP+q\x1b\\",  # a DCS query
    "a\u202egnp.exe\u2066x\u2069\u200f",  # bidi overrides and isolates
    "line\nbreak\rcarriage\ttab\x00nul\x7fdel\u2028sep",
    "\ud800lone surrogate",
]


@pytest.mark.parametrize("mode", ["osc9", "osc777"])
@pytest.mark.parametrize("evil", HOSTILE)
@pytest.mark.parametrize("tmux", [False, True])
def test_hostile_text_cannot_end_the_sequence_or_inject_another(
    mode: str, evil: str, tmux: bool
) -> None:
    out = terminal_bytes(mode, "t" + evil, "b" + evil, tmux_passthrough=tmux)  # type: ignore[arg-type]
    # Take off the framing we wrote; what is left must be plain printable text.
    if tmux:
        assert out.startswith("\x1bPtmux;\x1b\x1b]")
        assert out.endswith("\x1b\x1b\\\x1b\\\x07")
        inner = out[len("\x1bPtmux;\x1b\x1b]") : -len("\x1b\x1b\\\x1b\\\x07")]
    else:
        assert out.startswith("\x1b]")
        assert out.endswith("\x1b\\\x07")
        inner = out[2:-3]
    assert ESC not in inner
    assert BEL not in inner
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", inner)
    assert inner.isprintable()
    if mode == "osc777":
        assert inner.count(";") >= 3
        assert inner.split(";")[2].startswith("t")  # the title field is intact
    # Exactly our own ESCs: OSC start and ST (each doubled inside the tmux wrapper).
    assert out.count(ESC) == (6 if tmux else 2)
    assert out.count(BEL) == 1
    out.encode("utf-8")  # writable to any UTF-8 terminal


def test_the_sequence_length_is_capped_whatever_the_input() -> None:
    out = terminal_bytes("osc777", "t" * 1_000_000, "b" * 1_000_000)
    assert len(out) <= len("\x1b]777;notify;;\x1b\\\x07") + TITLE_CHARS + BODY_CHARS


def test_printable_makes_one_capped_line() -> None:
    assert printable("  a\n\tb\x1b[31m  c  ") == "a b [31m c"
    assert printable("x" * 50, 10) == "x" * 9 + "…"
    assert len(printable("y" * 10_000_000)) == BODY_CHARS
