"""The timeline holds each message once, and a sent message where the server has it."""

from __future__ import annotations

from bimpe_tui.api.models import Message
from bimpe_tui.book import Pending, Timeline


def message(n: int, text: str = "") -> Message:
    return Message.from_api(
        {
            "id": f"m_{n}",
            "role": "customer",
            "message": text or f"text {n}",
            "created_at": f"2026-11-20T09:{n:02d}:00Z",
        }
    )


def ids(timeline: Timeline) -> list[str]:
    return [item.id for item in timeline.items if isinstance(item, Message)]


def test_a_repeated_id_is_kept_once() -> None:
    timeline = Timeline()
    first = timeline.add([message(1), message(2)])
    again = timeline.add([message(2), message(1), message(3), message(3)])
    assert [m.id for m in first if isinstance(m, Message)] == ["m_1", "m_2"]
    assert [m.id for m in again if isinstance(m, Message)] == ["m_3"]
    assert ids(timeline) == ["m_1", "m_2", "m_3"]


def test_the_posts_answer_takes_the_sending_items_place_at_once() -> None:
    timeline = Timeline()
    timeline.add([message(1)])
    pending = timeline.add_pending(Pending(key="k", text="mine"))
    sent = message(5, "mine")
    timeline.settle_pending(pending, sent)
    assert list(timeline.items) == [message(1), sent]
    assert sent.id in timeline.mine
    # Not yet where delivery stands: the stream has not delivered it.
    assert timeline.last_message == message(1)
    # The stream delivers what came before it on the server, then it.
    added = timeline.add([message(2), message(3), sent, message(6)])
    assert [m.id for m in added if isinstance(m, Message)] == ["m_2", "m_3", "m_6"]
    assert ids(timeline) == ["m_1", "m_2", "m_3", "m_5", "m_6"]
    assert timeline.last_message == message(6)
    assert timeline.take_replaced()  # the two went in before the sent one: redraw


def test_a_send_the_stream_delivered_first_leaves_no_item() -> None:
    timeline = Timeline()
    pending = timeline.add_pending(Pending(key="k", text="mine"))
    sent = message(5, "mine")
    timeline.add([sent])
    timeline.settle_pending(pending, sent)
    assert list(timeline.items) == [sent]
    assert not timeline.take_replaced()


def test_a_failed_send_takes_its_item_away() -> None:
    timeline = Timeline()
    timeline.add([message(1)])
    pending = timeline.add_pending(Pending(key="k", text="mine"))
    timeline.settle_pending(pending, None)
    assert list(timeline.items) == [message(1)]
    # Nothing changed in place for the stream's next delivery to redraw.
    timeline.add([message(2)])
    assert not timeline.take_replaced()


def test_what_the_stream_delivers_while_sending_stays_before_the_sent_message() -> None:
    # Created before the enter, delivered after it (a lagging stream): the
    # sent message goes after it, where the server has it.
    timeline = Timeline()
    timeline.add([message(1)])
    pending = timeline.add_pending(Pending(key="k", text="mine"))
    timeline.add([message(2)])
    sent = message(5, "mine")
    timeline.settle_pending(pending, sent)
    assert ids(timeline) == ["m_1", "m_2", "m_5"]
    timeline.add([message(3), sent, message(6)])
    assert ids(timeline) == ["m_1", "m_2", "m_3", "m_5", "m_6"]


def test_what_the_stream_delivers_while_sending_goes_by_its_time() -> None:
    # A slow answer (a lost one retried): the customer's next message came on the
    # stream first. The server has the sent message before it.
    timeline = Timeline()
    timeline.add([message(1)])
    pending = timeline.add_pending(Pending(key="k", text="mine"))
    timeline.add([message(7)])
    sent = message(5, "mine")
    timeline.settle_pending(pending, sent)
    assert ids(timeline) == ["m_1", "m_5", "m_7"]


def test_a_newer_arrival_before_the_streams_copy_goes_after_the_sent_message() -> None:
    timeline = Timeline()
    timeline.add([message(1)])
    pending = timeline.add_pending(Pending(key="k", text="mine"))
    sent = message(5, "mine")
    timeline.settle_pending(pending, sent)
    timeline.add([message(3), message(8)])
    assert ids(timeline) == ["m_1", "m_3", "m_5", "m_8"]
