"""Who is waiting, and how long: the wait's start, its words, the order and the title."""

from __future__ import annotations

from pathlib import Path

from bimpe_tui.api.models import Agent, Conversation, Message
from bimpe_tui.book import Book, Entry, attention_order
from bimpe_tui.config import read_config
from bimpe_tui.waits import WaitRules, wait_start, wait_words, waits_summary
from bimpe_tui.widgets.picker import row

#: 2026-11-20 09:00:00 UTC.
NOW = 1_795_165_200.0
AGENT = Agent(id="ag_1", name="Shop", description="", created_at="", updated_at="")


def at(minutes_ago: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(NOW - minutes_ago * 60, UTC).isoformat().replace("+00:00", "Z")


def msg(mid: str, role: str, minutes_ago: float) -> Message:
    return Message(id=mid, role=role, created_at=at(minutes_ago), message=mid)


def entry(cid: str, *messages: Message, attention: bool = False, paused: bool = False) -> Entry:
    conversation = Conversation(
        id=cid, channel_type="whatsapp", needs_attention=attention, is_ai_chat_paused=paused
    )
    e = Entry(AGENT, conversation)
    e.timeline.add(list(messages))
    return e


def test_for_anyone_the_wait_starts_at_the_oldest_unanswered_customer_message() -> None:
    talk = [msg("a", "customer", 30), msg("b", "assistant", 29), msg("c", "customer", 9)]
    assert wait_start(talk, person=False) == talk[2]
    talk.append(msg("d", "user", 5))  # a second one: still since the first unanswered
    assert wait_start(talk, person=False) == talk[2]
    talk.append(msg("e", "assistant", 4))  # answered by anyone
    assert wait_start(talk, person=False) is None


def test_for_a_person_the_ais_answers_do_not_count() -> None:
    talk = [
        msg("a", "customer", 60),
        msg("b", "restaurant_user", 50),  # a person answered
        msg("c", "customer", 20),  # the wait for a person starts here
        msg("d", "assistant", 19),
        msg("e", "customer", 10),
        msg("f", "assistant", 9),
    ]
    assert wait_start(talk, person=True) == talk[2]
    assert wait_start(talk, person=False) is None
    # Your own reply (sent in this run) is a person's too, whatever its role.
    talk.append(msg("g", "assistant", 2))
    assert wait_start(talk, person=True, mine={"g"}) is None
    # Nobody but the AI ever answered: since the customer's first message known.
    assert wait_start([msg("x", "customer", 40), msg("y", "assistant", 39)], person=True)


def test_words_show_once_past_the_threshold() -> None:
    rules = WaitRules(show_after=120, colour_after=300, alert_after=600)
    assert wait_words(None, NOW, rules) == ""
    assert wait_words(NOW - 60, NOW, rules) == ""
    assert wait_words(NOW - 4 * 60, NOW, rules) == "waiting 4m"
    assert wait_words(NOW - 2 * 3600 - 300, NOW, rules) == "waiting 2h 5m"


def test_the_row_says_waiting_and_colours_a_long_wait() -> None:
    rules = WaitRules(show_after=120, colour_after=300, alert_after=600)
    short = entry("c_1", msg("a", "customer", 3), attention=True)
    long = entry("c_2", msg("a", "customer", 12), attention=True)
    fresh = entry("c_3", msg("a", "customer", 1), attention=True)
    drawn = row(short, NOW, 1, 60, 1, rules)
    assert "waiting 3m" in drawn.plain
    assert not any("bold" in str(span.style) for span in drawn.spans if "yellow" in str(span.style))
    drawn = row(long, NOW, 2, 60, 1, rules)
    assert "waiting 12m" in drawn.plain
    assert any(str(span.style) == "bold yellow" for span in drawn.spans)
    assert "waiting" not in row(fresh, NOW, 3, 60, 1, rules).plain


def test_the_longest_wait_for_a_person_comes_first_among_those_needing_attention() -> None:
    calm = entry("c_0", msg("a", "customer", 1))
    two = entry("c_2", msg("a", "customer", 2), attention=True)
    nine = entry("c_9", msg("a", "customer", 9), attention=True)
    unknown = entry("c_u", attention=True)
    order = [e.id for e in attention_order([calm, two, unknown, nine])]
    assert order == ["c_9", "c_2", "c_u", "c_0"]
    book = Book()
    for e in (calm, two, unknown, nine):
        book.entries[e.id] = e
        book.add_agent(AGENT)
    assert [e.id for e in book.hotlist()][:2] == ["c_9", "c_2"]


def test_the_lists_title_sums_it_up() -> None:
    rules = WaitRules(show_after=120)
    assert waits_summary([(False, None)], NOW, rules) == ""
    assert waits_summary([(True, None)], NOW, rules) == "1 needs a person"
    summary = waits_summary([(True, NOW - 360), (True, NOW - 60), (False, NOW - 30)], NOW, rules)
    assert summary == "3 need a person · longest wait 6m"


def test_a_new_message_moves_the_wait(tmp_path: Path) -> None:
    e = entry("c_1", msg("a", "customer", 8), attention=True)
    first = e.waiting_since()
    assert first is not None
    e.timeline.add([msg("b", "restaurant_user", 1)])
    assert e.waiting_since() is None
    e.timeline.add([msg("c", "customer", 0.5)])
    later = e.waiting_since()
    assert later is not None
    assert later > first


def test_waits_thresholds_are_read_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[waits]\nshow_after = 60\ncolour_after = 'soon'\nalert_after = 0\n")
    config, warnings = read_config(path)
    assert config["waits"] == {"show_after": 60, "alert_after": 0}
    assert any("waits.colour_after" in w for w in warnings), warnings
