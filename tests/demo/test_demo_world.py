"""Tests for the demo world: determinism, timing arithmetic, ids and the conversation mix."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bimpe_tui.demo.newcomers import RETENTION, SPACING
from bimpe_tui.demo.scripts import ESCALATION
from bimpe_tui.demo.world import (
    ANCHOR,
    LONG_BACKLOG,
    LONG_OVERRUN,
    LONG_WINDOW,
    MAX_LIFE,
    MIN_LIFE,
    AdjustableClock,
    DemoWorld,
    format_iso,
    parse_iso_ms,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp()
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SDK_ROLES = {"user", "assistant", "restaurant_user", "customer"}


def fixed(now: float = NOW) -> DemoWorld:
    return DemoWorld(seed=7, clock=lambda: now)


def test_anchor_is_new_year_2026() -> None:
    assert format_iso(ANCHOR) == "2026-01-01T00:00:00.000Z"


def test_same_seed_and_clock_give_the_same_world() -> None:
    a, b = fixed(), fixed()
    assert a.agents() == b.agents()
    assert a.conversation_ids() == b.conversation_ids()
    for agent in a.agents():
        agent_id = str(agent["id"])
        assert a.conversations(agent_id) == b.conversations(agent_id)
    for _, conv in a.conversation_ids():
        latest = a.latest_index(conv)
        assert latest == b.latest_index(conv)
        for index in (0, 1, 2, latest // 2, latest):
            assert a.message(conv, index) == b.message(conv, index)


def test_a_fixed_clock_makes_repeated_reads_identical() -> None:
    world = fixed()
    agent_id, conv = world.conversation_ids()[0]
    first = (world.conversations(agent_id), world.conversation_detail(agent_id, conv))
    second = (world.conversations(agent_id), world.conversation_detail(agent_id, conv))
    assert first == second


def test_different_seeds_give_different_worlds() -> None:
    a = DemoWorld(seed=7, clock=lambda: NOW)
    b = DemoWorld(seed=8, clock=lambda: NOW)
    assert [x["id"] for x in a.agents()] != [x["id"] for x in b.agents()]
    conv_a = a.conversation_ids()[0][1]
    conv_b = b.conversation_ids()[0][1]
    times_a = [a.time_of(conv_a, n) - ANCHOR for n in range(50)]
    times_b = [b.time_of(conv_b, n) - ANCHOR for n in range(50)]
    assert times_a != times_b
    texts_a = [a.message(conv_a, n).message for n in range(50)]
    texts_b = [b.message(conv_b, n).message for n in range(50)]
    assert texts_a != texts_b


@pytest.mark.parametrize("rate", [1.0, 37.0, 5000.0])
def test_times_strictly_increase_and_respect_the_jitter_bound(rate: float) -> None:
    world = DemoWorld(seed=3, rate=rate, clock=lambda: NOW)
    for _, conv in world.conversation_ids():
        times = [world.time_of(conv, n) for n in range(400)]
        assert all(t1 < t2 for t1, t2 in itertools.pairwise(times))
        assert times[0] >= ANCHOR
        # Whole milliseconds, so the ISO form is exact.
        assert all(round(t * 1000) / 1000 == t for t in times)


def test_rate_multiplies_the_pace() -> None:
    # Conversations now live a bounded number of messages whatever the rate, so the pace
    # shows in the time between messages of the same seat rather than in their count.
    slow = DemoWorld(rate=1.0, clock=lambda: NOW)
    fast = DemoWorld(rate=10.0, clock=lambda: NOW)
    slow_conv = slow.conversation_ids()[0][1]
    fast_conv = fast.conversation_ids()[0][1]
    slow_span = slow.time_of(slow_conv, 1000) - slow.time_of(slow_conv, 0)
    fast_span = fast.time_of(fast_conv, 1000) - fast.time_of(fast_conv, 0)
    assert 9.9 < slow_span / fast_span < 10.1


@settings(max_examples=300, deadline=None)
@given(
    conv_slot=st.integers(min_value=0, max_value=14),
    offset=st.floats(min_value=-1000.0, max_value=40_000_000.0, allow_nan=False),
    rate=st.sampled_from([1.0, 3.5, 200.0]),
)
def test_latest_index_and_first_index_after_agree_with_time_of(
    conv_slot: int, offset: float, rate: float
) -> None:
    world = DemoWorld(seed=11, rate=rate, clock=lambda: NOW)
    conv = world.conversation_ids()[conv_slot][1]
    now = ANCHOR + offset
    latest = world.latest_index(conv, now)
    if latest >= 0:
        assert world.time_of(conv, latest) <= now
    else:
        assert world.time_of(conv, 0) > now
    final = world.final_index(conv)
    assert final is not None
    if latest < final:
        assert world.time_of(conv, latest + 1) > now
        assert world.first_index_after(conv, now) == latest + 1
    else:
        # The conversation has ended: nothing comes after its last message.
        assert world.time_of(conv, final) <= now


def test_first_index_after_a_message_time_is_the_next_message() -> None:
    world = fixed()
    conv = world.conversation_ids()[3][1]
    for index in (0, 5, 1234):
        assert world.first_index_after(conv, world.time_of(conv, index)) == index + 1
        assert world.latest_index(conv, world.time_of(conv, index)) == index


def test_nothing_exists_before_the_anchor() -> None:
    world = DemoWorld(clock=lambda: ANCHOR - 3600)
    agent_id, conv = world.conversation_ids()[0]
    assert world.latest_index(conv) == -1
    shape = world.conversations(agent_id)[0]
    assert shape["last_message_at"] is None
    assert shape["last_message_preview"] is None


def test_message_ids_round_trip() -> None:
    world = fixed()
    for _, conv in world.conversation_ids():
        for index in (0, 1, 35, 36, 1295, 1296, 46_655, 46_656, 9_876_543):
            message = world.message(conv, index)
            assert message.id == world.message_id(conv, index)
            assert re.fullmatch(r"m_[0-9a-z]+_[0-9a-z]+", message.id)
            assert world.parse_message_id(message.id) == (conv, index)


@pytest.mark.parametrize(
    "bad",
    ["", "m_", "m_x_1", "x_abc_1", "m_nosuchconv_1", "2026-01-01T00:00:00Z", "m_{}_", "m_{}_01",
     "m_{}_A", "m_{}_-1", "m_{}_1_2"],
)  # fmt: skip
def test_malformed_message_ids_are_rejected(bad: str) -> None:
    world = fixed()
    suffix = world.conversation_ids()[0][1].removeprefix("c_")
    assert world.parse_message_id(bad.format(suffix)) is None


def test_ids_have_the_documented_prefixes_and_are_unique() -> None:
    world = fixed()
    agent_ids = [str(a["id"]) for a in world.agents()]
    conv_ids = [c for _, c in world.conversation_ids()]
    assert all(a.startswith("ag_") for a in agent_ids)
    assert all(c.startswith("c_") for c in conv_ids)
    assert len(set(agent_ids)) == 3
    assert len(set(conv_ids)) == len(conv_ids)


def test_the_conversation_mix() -> None:
    world = fixed()
    agents = world.agents()
    assert len(agents) == 3
    for agent in agents:
        assert {"id", "name", "description", "created_at", "updated_at"} <= agent.keys()
        assert agent["status"] in {"development", "live", "paused"}
    listed = [c for a in agents for c in world.conversations(str(a["id"]))]
    assert len(listed) == len(world.conversation_ids())
    # The regulars; newcomers come and go (see the tests further down).
    conversations = [c for c in listed if not world.is_newcomer(str(c["id"]))]
    assert len(conversations) == 15
    channels = Counter(str(c["channel_type"]).removeprefix("test_") for c in conversations)
    assert set(channels) == {"whatsapp", "webchat", "telephony"}
    for conv in conversations:
        assert conv["is_test_channel"] == str(conv["channel_type"]).startswith("test_")
        assert conv["channel_user_username"]
        assert conv["channel_user_id"]
        assert ISO_MS.match(str(conv["last_message_at"]))
        assert conv["updated_at"] == conv["last_message_at"]
    assert any(c["is_test_channel"] for c in conversations)
    assert 2 <= sum(bool(c["needs_attention"]) for c in conversations) <= 4
    assert sum(bool(c["is_ai_chat_paused"]) for c in conversations) == 1
    # Every agent has some traffic.
    assert {world.agent_of(str(c["id"])) for c in conversations} == {a["id"] for a in agents}


def test_periods_mix_busy_and_quiet_conversations() -> None:
    world = fixed()
    periods = [
        world.time_of(conv, 1000) - world.time_of(conv, 0) for _, conv in world.conversation_ids()
    ]
    per_message = [p / 1000 for p in periods]
    assert min(per_message) < 6
    assert max(per_message) > 60
    assert all(3 < p < 100 for p in per_message)


def test_conversation_summary_reflects_the_latest_message() -> None:
    world = fixed()
    agent_id, conv = world.conversation_ids()[5]
    latest = world.message(conv, world.latest_index(conv))
    shape = next(c for c in world.conversations(agent_id) if c["id"] == conv)
    assert shape["last_message_at"] == latest.to_api()["created_at"]
    assert latest.message.startswith(str(shape["last_message_preview"]))
    detail = world.conversation_detail(agent_id, conv)
    assert detail is not None
    assert {"full_name", "email", "phone_number", "profile_picture"} <= detail.keys()
    assert world.conversation_detail(agent_id, "c_unknown") is None
    other_agent = next(a for a, _ in world.conversation_ids() if a != agent_id)
    assert world.conversation_detail(other_agent, conv) is None


def test_message_shapes() -> None:
    world = fixed()
    _, conv = world.conversation_ids()[0]
    message = world.message(conv, 10)
    api = message.to_api()
    assert set(api) <= {"id", "role", "message", "message_type", "created_at", "attachments"}
    assert ISO_MS.match(str(api["created_at"]))
    assert parse_iso_ms(str(api["created_at"])) == round(message.created_at * 1000)
    stream = message.to_stream()
    assert list(stream) == [
        "id",
        "conversation_id",
        "role",
        "message",
        "message_type",
        "created_at",
    ]
    assert stream["conversation_id"] == conv
    assert stream["created_at"] == api["created_at"]


def test_content_is_varied_and_realistic() -> None:
    world = fixed()
    messages = [world.message(conv, n) for _, conv in world.conversation_ids() for n in range(400)]
    roles = Counter(m.role for m in messages)
    assert set(roles) <= SDK_ROLES
    assert roles["customer"] > 0
    assert roles["assistant"] > 0
    assert all(m.role == "customer" for m in messages if m.index % 2 == 0)
    assert any(len(m.message) > 300 for m in messages)
    texts = " ".join(m.message for m in messages)
    assert re.search(r"[éèàç]", texts)  # accents
    assert re.search(r"[\u4e00-\u9fff]", texts)  # CJK
    assert re.search(r"[\u0600-\u06ff]", texts)  # right-to-left (Arabic)
    assert re.search(r"[\U0001F300-\U0001FAFF]", texts)  # emoji
    with_files = [m for m in messages if m.attachments]
    assert {m.message_type for m in with_files} == {"image", "document"}
    for m in with_files:
        for kind, url in m.attachments:
            assert kind == m.message_type
            assert url.startswith("https://example.com/")
        assert m.to_api()["attachments"] == [{"type": k, "url": u} for k, u in m.attachments]
    assert all(m.message_type == "text" for m in messages if not m.attachments)
    assert "attachments" not in next(m for m in messages if not m.attachments).to_api()


def test_stream_payloads_match_to_stream() -> None:
    world = fixed()
    for _, conv in world.conversation_ids():
        for start, stop in ((0, 60), (1290, 1300), (46_650, 46_660), (2_000_000, 2_000_010)):
            expected = [
                (
                    world.message(conv, i).id,
                    json.dumps(
                        world.message(conv, i).to_stream(),
                        ensure_ascii=False,
                        separators=(",", ":"),
                    ),
                )
                for i in range(start, stop)
            ]
            assert list(world.stream_payloads(conv, start, stop)) == expected


def test_messages_between() -> None:
    world = fixed()
    _, conv = world.conversation_ids()[2]
    until = world.time_of(conv, 20)
    got = world.messages_between(conv, 14, until)
    assert [m.index for m in got] == list(range(15, 21))
    assert world.messages_between(conv, 20, until) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:00:00.123Z", 1_795_428_000_123),
        ("2026-11-23T11:00:00.123+01:00", 1_795_428_000_123),
        ("2026-11-23T10:00:00", 1_795_428_000_000),
        ("2026-11-23T10:00:00.123999Z", 1_795_428_000_123),
        ("not a time", None),
        ("m_abc_1", None),
        ("2026-13-01T00:00:00Z", None),
    ],
)
def test_parse_iso_ms(text: str, expected: int | None) -> None:
    assert parse_iso_ms(text) == expected


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        DemoWorld(rate=0)


# --- the bench world and the adjustable clock --------------------------------------------


def bench(count: int = 8, period: float = 0.05, now: float = NOW) -> DemoWorld:
    return DemoWorld(seed=7, clock=lambda: now, bench_conversations=count, bench_period=period)


def test_bench_world_is_one_agent_with_uniform_conversations() -> None:
    world = bench(count=200)
    assert [a["name"] for a in world.agents()] == ["Bench Shop"]
    pairs = world.conversation_ids()
    assert len(pairs) == 200
    assert len({conv for _, conv in pairs}) == 200
    # Its ids never alias the default world's.
    assert not {c for _, c in pairs} & {c for _, c in fixed().conversation_ids()}
    for _, conv in pairs[:5]:
        gaps = {
            round((world.time_of(conv, n + 1) - world.time_of(conv, n)) * 1000)
            for n in range(1000, 1100)
        }
        assert gaps == {50}
        assert all(m.role in SDK_ROLES for m in world.messages_between(conv, -1, ANCHOR + 1))


def test_bench_world_spreads_phases_over_one_period() -> None:
    world = bench(count=10, period=0.1)
    firsts = [world.time_of(conv, 0) - ANCHOR for _, conv in world.conversation_ids()]
    assert [round(t * 1000) for t in firsts] == list(range(0, 100, 10))
    # Over any whole period, every conversation creates exactly one message.
    start = NOW
    for _, conv in world.conversation_ids():
        assert world.latest_index(conv, start + 0.1) - world.latest_index(conv, start) == 1


def test_bench_world_latest_index_and_payloads_agree() -> None:
    world = bench(count=4, period=0.05)
    for _, conv in world.conversation_ids():
        latest = world.latest_index(conv)
        assert world.time_of(conv, latest) <= NOW < world.time_of(conv, latest + 1)
        assert world.latest_index(conv, world.time_of(conv, 0) - 0.001) == -1
        expected = [
            (
                world.message(conv, i).id,
                json.dumps(
                    world.message(conv, i).to_stream(), ensure_ascii=False, separators=(",", ":")
                ),
            )
            for i in range(latest - 5, latest + 1)
        ]
        assert list(world.stream_payloads(conv, latest - 5, latest + 1)) == expected


def test_bench_world_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="bench_conversations"):
        DemoWorld(bench_conversations=-1)
    with pytest.raises(ValueError, match="bench_period"):
        DemoWorld(bench_conversations=1, bench_period=0)


def test_default_world_is_unchanged_by_the_bench_options() -> None:
    plain = fixed()
    explicit = DemoWorld(seed=7, clock=lambda: NOW, bench_conversations=0, bench_period=1.0)
    assert plain.conversation_ids() == explicit.conversation_ids()
    _, conv = plain.conversation_ids()[0]
    assert [plain.time_of(conv, n) for n in range(50)] == [
        explicit.time_of(conv, n) for n in range(50)
    ]


def test_adjustable_clock_moves_pauses_and_speeds_up() -> None:
    clock = AdjustableClock(start=NOW, speed=0)
    assert clock() == NOW
    assert clock.set(advance=10) == NOW + 10
    assert clock() == NOW + 10
    clock.set(now=NOW, speed=0)
    assert clock() == NOW
    clock.set(speed=1000)
    assert clock.speed == 1000
    assert clock() >= NOW
    with pytest.raises(ValueError, match="speed"):
        clock.set(speed=-1)
    with pytest.raises(ValueError, match="speed"):
        AdjustableClock(speed=-1)


# --- newcomers ---------------------------------------------------------------------------

DAY = 86_400.0
STAFF = "restaurant_user"


class Clock:
    """A clock the test sets."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def newcomer_ids(world: DemoWorld, now: float | None = None) -> list[str]:
    return [c for _, c in world.conversation_ids(now) if world.is_newcomer(c)]


def newcomers_of_a_day(world: DemoWorld, start: float = NOW) -> list[str]:
    """Every newcomer listed at some point of a day (each is listed for at least an hour)."""
    seen: dict[str, None] = {}
    for step in range(48):
        for conv in newcomer_ids(world, start + step * 1800):
            seen[conv] = None
    return list(seen)


def flags_through_life(world: DemoWorld, clock: Clock, conv: str) -> list[tuple[bool, bool]]:
    """``(needs_attention, is_ai_chat_paused)`` as each message of the life lands."""
    clock.now = world.time_of(conv, 0)
    agent_id = world.agent_of(conv) or ""
    out: list[tuple[bool, bool]] = []
    final = world.final_index(conv)
    assert final is not None
    for index in range(final + 1):
        clock.now = world.time_of(conv, index)
        detail = world.conversation_detail(agent_id, conv)
        assert detail is not None
        assert detail["last_message_at"] == world.message(conv, index).created_at_iso
        assert detail["updated_at"] == detail["last_message_at"]
        out.append((bool(detail["needs_attention"]), bool(detail["is_ai_chat_paused"])))
    return out


def spans(values: list[bool]) -> list[tuple[int, int]]:
    """``[first, stop)`` index ranges where ``values`` is True."""
    out: list[tuple[int, int]] = []
    for key, group in itertools.groupby(enumerate(values), key=lambda item: item[1]):
        items = list(group)
        if key:
            out.append((items[0][0], items[-1][0] + 1))
    return out


def seat_of(world: DemoWorld, conv: str) -> tuple[object, ...]:
    agent_id = world.agent_of(conv)
    assert agent_id is not None
    shape = next(c for c in world.conversations(agent_id) if c["id"] == conv)
    return (
        agent_id,
        shape["channel_type"],
        shape["channel_user_username"],
        shape["needs_attention"],
        shape["is_ai_chat_paused"],
    )


def test_regulars_come_first_and_keep_their_seats_as_conversations_turn_over() -> None:
    world = fixed()
    plain = DemoWorld(seed=7, clock=lambda: NOW, newcomers=False)
    regulars = plain.conversation_ids()
    assert len(regulars) == 15
    seats = [seat_of(plain, conv) for _, conv in regulars]
    assert world.conversation_ids()[:15] == regulars
    assert newcomer_ids(world)
    assert not any(world.is_newcomer(c) for _, c in regulars)
    later = DemoWorld(seed=7, clock=lambda: NOW + 7 * DAY, newcomers=False)
    turned = later.conversation_ids()
    # A week later every seat holds another conversation (lives last hours to three
    # days), with the same customer and flags.
    assert {c for _, c in turned}.isdisjoint(c for _, c in regulars)
    assert [seat_of(later, conv) for _, conv in turned] == seats
    # The ended ones can still be fetched by id.
    assert all(later.agent_of(c) == a for a, c in regulars)


def test_conversations_have_a_beginning_and_an_end() -> None:
    world = DemoWorld(seed=7, clock=lambda: NOW, newcomers=False)
    long_id = world.long_conversation()
    assert long_id is not None
    for now in (NOW + step * 5003.0 for step in range(40)):
        for _, conv in world.conversation_ids(now):
            latest = world.latest_index(conv, now)
            final = world.final_index(conv)
            assert final is not None
            assert 0 <= latest <= final
            if conv == world.long_conversation(now)[1]:  # type: ignore[index]
                assert LONG_BACKLOG <= latest + 1 <= LONG_BACKLOG + LONG_WINDOW
                # Whoever watches the listed one has that many more to come.
                assert final - latest >= LONG_OVERRUN
                assert final + 1 == LONG_BACKLOG + LONG_WINDOW + LONG_OVERRUN
            else:
                assert final + 1 <= MAX_LIFE
            # The life begins at its message 0: nothing of it exists just before.
            assert world.latest_index(conv, world.time_of(conv, 0) - 0.001) == -1


def test_a_seat_passes_to_the_next_conversation_on_the_tick_after_the_last_message() -> None:
    world = DemoWorld(seed=7, clock=lambda: NOW, newcomers=False)
    _, first = world.conversation_ids()[2]
    final = world.final_index(first)
    assert final is not None
    assert MIN_LIFE <= final + 1 <= MAX_LIFE
    end = world.time_of(first, final)
    assert world.conversation_ids(end)[2][1] == first
    # Past the end, the seat's next life takes over once its first message is written.
    _, second = world.conversation_ids(end + 3600)[2]
    assert second != first
    start = world.time_of(second, 0)
    assert end < start <= end + 2 * (world.time_of(first, 1) - world.time_of(first, 0)) + 1
    assert world.conversation_ids(start)[2][1] == second
    assert world.conversation_ids(start - 0.001)[2][1] == first
    # Index 0 of the next life is a customer speaking, as every conversation starts.
    assert world.message(second, 0).role == "customer"
    assert world.latest_index(first, start + 3600) == final


def test_the_long_conversation_is_one_seat_of_about_a_hundred_thousand_messages() -> None:
    world = fixed()
    long = world.long_conversation()
    assert long is not None
    agent_id, conv = long
    assert (agent_id, conv) in world.conversation_ids()
    sizes = sorted(world.latest_index(c) + 1 for _, c in world.conversation_ids())
    assert sizes[-1] == world.latest_index(conv) + 1 >= LONG_BACKLOG
    # Everything else is a life of tens to a few thousand messages.
    assert sizes[-2] <= MAX_LIFE
    assert DemoWorld(seed=7, clock=lambda: NOW, bench_conversations=3).long_conversation() is None


def test_life_ids_round_trip_and_forgeries_are_rejected() -> None:
    world = fixed()
    for _, conv in world.conversation_ids()[:15]:
        for index in (0, 1, 1295, 1296, 99_999):
            assert world.parse_message_id(world.message_id(conv, index)) == (conv, index)
        suffix = conv.removeprefix("c_")
        # Another check digit, another seat, or a seat beyond the fifteen is nobody's.
        flipped = ("1" if suffix[0] == "0" else "0") + suffix[1:]
        assert world.agent_of(f"c_{flipped}") is None
        assert world.agent_of(f"c_{suffix[:4]}z{suffix[5:]}") is None
        assert world.parse_message_id(f"m_{flipped}_0") is None


def test_a_newcomer_appears_when_the_clock_passes_its_start() -> None:
    clock = Clock()
    world = DemoWorld(seed=7, clock=clock)
    listed = set(newcomer_ids(world))
    upcoming = [c for c in newcomer_ids(world, NOW + 3600) if c not in listed]
    conv = min(upcoming, key=lambda c: world.time_of(c, 0))
    start = world.time_of(conv, 0)
    assert start > NOW
    clock.now = start - 0.001
    assert conv not in newcomer_ids(world)
    assert world.latest_index(conv) == -1
    assert world.agent_of(conv) is None
    clock.now = start
    assert conv in newcomer_ids(world)
    agent_id = world.agent_of(conv)
    assert agent_id is not None
    shape = next(c for c in world.conversations(agent_id) if c["id"] == conv)
    assert shape["created_at"] == shape["last_message_at"] == format_iso(start)
    assert world.latest_index(conv) == 0
    assert world.message(conv, 0).role == "customer"


def test_newcomer_flags_turn_on_and_off_at_derived_moments() -> None:
    clock = Clock()
    world = DemoWorld(seed=7, clock=clock)
    asked = paused = calm = 0
    for conv in newcomers_of_a_day(world):
        flags = flags_through_life(world, clock, conv)
        roles = [world.message(conv, i).role for i in range(len(flags))]
        attention = spans([a for a, _ in flags])
        pause = spans([p for _, p in flags])
        assert len(attention) <= 1
        assert len(pause) <= 1
        # Every life ends calm, with the AI answering a closing exchange.
        assert flags[-1] == (False, False)
        assert roles[-1] == "assistant"
        assert len(flags) % 2 == 0
        if not attention:
            assert not pause
            calm += 1
            continue
        asked += 1
        on, off = attention[0]
        # The customer asks; a staff member's answer turns the flag off.
        assert on % 2 == 0
        assert roles[on] == "customer"
        assert world.message(conv, on).message == ESCALATION.customer
        assert roles[off] == STAFF
        if pause:
            paused += 1
            first, stop = pause[0]
            assert first == off
            assert all(roles[i] == STAFF for i in range(first, stop, 2))
            assert stop % 2 == 1
    assert asked >= 10
    assert paused >= 5
    assert calm >= 10


def test_newcomer_lives_are_tens_to_hundreds_of_messages_and_then_end() -> None:
    world = fixed()
    finals = [world.final_index(c) for c in newcomers_of_a_day(world)]
    lengths = [f + 1 for f in finals if f is not None]
    assert len(lengths) == len(finals)
    assert min(lengths) >= 24
    assert max(lengths) <= 240
    assert max(lengths) - min(lengths) > 100


def test_latest_index_stops_at_the_end_of_a_life() -> None:
    world = fixed()
    conv = newcomer_ids(world)[0]
    final = world.final_index(conv)
    assert final is not None
    end = world.time_of(conv, final)
    assert world.latest_index(conv, end - 0.001) == final - 1
    for later in (end, end + 3600, end + 365 * DAY):
        assert world.latest_index(conv, later) == final
        assert world.first_index_after(conv, later) == final + 1
    assert world.latest_index_ms(conv, round((end + DAY) * 1000)) == final
    assert [m.index for m in world.messages_between(conv, final - 3, end + DAY)] == [
        final - 2,
        final - 1,
        final,
    ]


def test_ended_newcomers_leave_the_list_after_the_retention_window() -> None:
    clock = Clock()
    world = DemoWorld(seed=7, clock=clock)
    conv = newcomer_ids(world)[0]
    final = world.final_index(conv)
    assert final is not None
    end = world.time_of(conv, final)
    assert conv in newcomer_ids(world, end + RETENTION)
    assert conv not in newcomer_ids(world, end + RETENTION + 0.01)
    # Gone from the list, it can still be fetched, paged and streamed by id.
    clock.now = end + DAY
    agent_id = world.agent_of(conv)
    assert agent_id is not None
    detail = world.conversation_detail(agent_id, conv)
    assert detail is not None
    assert detail["last_message_at"] == format_iso(end)


def test_the_list_stays_bounded_over_a_simulated_day() -> None:
    world = fixed()
    counts = []
    agents = {str(a["id"]) for a in world.agents()}
    for step in range(24 * 12):
        now = NOW + step * 300
        pairs = [(a, c) for a, c in world.conversation_ids(now) if world.is_newcomer(c)]
        counts.append(len(pairs))
        for agent_id, conv in pairs:
            assert agent_id in agents
            latest = world.latest_index(conv, now)
            assert latest >= 0
            assert world.time_of(conv, latest) >= now - 7200
    assert min(counts) >= 10
    assert max(counts) <= 45


@pytest.mark.parametrize("rate", [1.0, 7.5])
def test_about_one_newcomer_every_four_minutes_scaled_by_rate(rate: float) -> None:
    world = DemoWorld(seed=7, rate=rate, clock=lambda: NOW)
    day = DAY / rate
    seen: dict[str, str] = {}
    for step in range(50):
        pairs = world.conversation_ids(NOW + step * day / 48)
        seen.update((c, a) for a, c in pairs if world.is_newcomer(c))
    started = [c for c in seen if NOW < world.time_of(c, 0) <= NOW + day]
    expected = DAY / SPACING  # 360 a day at rate 1: one every 4 minutes
    assert 0.9 * expected <= len(started) <= 1.1 * expected
    agents = Counter(seen[c] for c in started)
    assert len(agents) == 3
    assert min(agents.values()) > expected / 6


def test_newcomers_vary_in_channel_and_person() -> None:
    clock = Clock()
    world = DemoWorld(seed=7, clock=clock)
    shapes = []
    for conv in newcomers_of_a_day(world)[:80]:
        clock.now = world.time_of(conv, 0)
        agent_id = world.agent_of(conv)
        assert agent_id is not None
        detail = world.conversation_detail(agent_id, conv)
        assert detail is not None
        shapes.append(detail)
    channels = Counter(str(s["channel_type"]) for s in shapes)
    assert {"whatsapp", "webchat", "telephony"} <= set(channels)
    assert any(s["is_test_channel"] for s in shapes)
    assert len({s["channel_user_username"] for s in shapes}) > 20
    for shape in shapes:
        assert shape["is_test_channel"] == str(shape["channel_type"]).startswith("test_")
        assert shape["full_name"]
        assert shape["channel_user_id"]


def test_newcomer_ids_parse_and_round_trip() -> None:
    world = fixed()
    for conv in newcomer_ids(world):
        assert re.fullmatch(r"c_[0-9a-z]{12}", conv)
        for index in (0, 1, 35, 36, world.final_index(conv)):
            assert index is not None
            message_id = world.message_id(conv, index)
            assert world.message(conv, index).id == message_id
            assert world.parse_message_id(message_id) == (conv, index)
    suffix = newcomer_ids(world)[0].removeprefix("c_")
    forged = ("0" if suffix[0] != "0" else "1") + suffix[1:]
    assert world.parse_message_id(f"m_{forged}_1") is None
    assert world.agent_of(f"c_{forged}") is None
    assert not world.is_newcomer(f"c_{forged}")
    # Another seed's newcomers are not this world's.
    other = DemoWorld(seed=8, clock=lambda: NOW)
    assert world.parse_message_id(f"m_{newcomer_ids(other)[0].removeprefix('c_')}_1") is None
    assert not set(newcomer_ids(other)) & set(newcomer_ids(world))


def test_newcomers_are_a_pure_function_of_seed_rate_and_clock() -> None:
    a = DemoWorld(seed=7, rate=3.0, clock=lambda: NOW)
    b = DemoWorld(seed=7, rate=3.0, clock=lambda: NOW)
    assert newcomer_ids(a) == newcomer_ids(b)
    for conv in newcomer_ids(a):
        agent_id = a.agent_of(conv)
        assert agent_id is not None
        assert a.conversation_detail(agent_id, conv) == b.conversation_detail(agent_id, conv)
        final = a.final_index(conv)
        assert final is not None
        assert list(a.stream_payloads(conv, 0, final + 1)) == list(
            b.stream_payloads(conv, 0, final + 1)
        )
    assert newcomer_ids(a) != newcomer_ids(DemoWorld(seed=7, rate=1.0, clock=lambda: NOW))


def test_newcomer_stream_payloads_match_to_stream() -> None:
    world = fixed()
    for conv in newcomer_ids(world)[:6]:
        final = world.final_index(conv)
        assert final is not None
        expected = [
            (
                world.message(conv, i).id,
                json.dumps(
                    world.message(conv, i).to_stream(), ensure_ascii=False, separators=(",", ":")
                ),
            )
            for i in range(final + 1)
        ]
        assert list(world.stream_payloads(conv, 0, final + 1)) == expected
        assert all(
            m.role in SDK_ROLES
            for m in world.messages_between(conv, -1, world.time_of(conv, final))
        )


def test_bench_world_has_no_newcomers() -> None:
    world = bench(count=5)
    assert len(world.conversation_ids(NOW + DAY)) == 5
    assert not world.newcomers
