"""Numbers that stay: a conversation keeps its number as the list re-sorts and across
restarts; `:12` and ctrl+g go to one by number or by part of a name."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bimpe_tui.app import BimpeApp
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.numbers import Numbers
from bimpe_tui.screens.goto import Candidate, GoToScreen, candidates_for
from bimpe_tui.state import ServerState, StateStore
from bimpe_tui.state_merge import merge_numbers
from tests.apptools import FakeClock, make_app, ready, until

FAST = 0.2


def test_first_numbers_follow_the_list_and_stay_when_it_resorts() -> None:
    numbers = Numbers()
    assert numbers.update(["a", "b", "c"])
    assert [numbers.of(c) for c in "abc"] == [1, 2, 3]
    # Re-sorted: nothing changes hands.
    assert not numbers.update(["c", "a", "b"])
    assert [numbers.of(c) for c in "abc"] == [1, 2, 3]
    assert numbers.conversation(3) == "c"
    # A redraw with the same conversations skips the ordered list; a new one does not.
    assert numbers.numbers_exactly(dict.fromkeys("cab").keys())
    assert not numbers.numbers_exactly(dict.fromkeys("abcd").keys())


def test_a_new_one_takes_the_smallest_free_number_and_gone_ones_free_theirs() -> None:
    numbers = Numbers({"a": 1, "b": 2, "c": 3})
    assert numbers.update(["a", "c", "d"])  # b is gone, d is new: d takes 2
    assert numbers.as_dict() == {"a": 1, "c": 3, "d": 2}
    assert numbers.update(["e", "a", "c", "d", "f"])
    assert (numbers.of("e"), numbers.of("f")) == (4, 5)
    assert numbers.conversation(2) == "d"


def test_saved_numbers_are_kept_and_a_number_saved_twice_goes_to_its_first_holder() -> None:
    numbers = Numbers({"a": 7, "b": 7, "c": 0, "d": 2})
    assert numbers.as_dict() == {"a": 7, "d": 2}
    numbers.update(["b", "a", "d"])
    assert numbers.as_dict() == {"a": 7, "d": 2, "b": 1}


def test_the_state_file_keeps_numbers_and_names_a_wrong_one(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    store = StateStore(path)
    store.open()
    store.server("s").numbers = {"c_1": 3, "c_2": 12}
    store.save_now()
    store.release()
    assert tomllib.loads(path.read_text())["servers"]["s"]["numbers"] == {"c_1": 3, "c_2": 12}
    again = StateStore(path)
    assert again.open() == []
    assert again.server("s").numbers == {"c_1": 3, "c_2": 12}
    again.release()
    path.write_text(
        'version = 1\n[servers.s]\nwatched = []\n[servers.s.numbers]\nc_1 = "three"\nc_2 = 4\n'
    )
    third = StateStore(path)
    warnings = third.open()
    assert any("numbers.c_1 is a string" in w for w in warnings), warnings
    assert third.server("s").numbers == {"c_2": 4}
    third.release()


def test_two_copies_numbering_at_once_keep_one_holder_per_number() -> None:
    # Both copies started from {a: 1}; this one gave 2 to b, the other gave 2 to c and 3 to d.
    merged = merge_numbers({"a": 1}, {"a": 1}, {"a": 1, "b": 2}, {"a": 1, "c": 2, "d": 3})
    assert merged == {"a": 1, "b": 2, "d": 3}
    # A number this copy freed (its conversation gone) stays freed.
    assert merge_numbers({"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2}) == {"a": 1}
    assert ServerState().numbers == {}


EVERYONE = [
    Candidate("c_1", 1, "ngozi.eze · whatsapp · Mama Ebi's Kitchen"),
    Candidate("c_12", 12, "funmi.a · webchat · Adire & Co. Support"),
    Candidate("c_2", 2, "+2348000000002 · telephony test · Harbour View"),
    Candidate("c_120", 120, "guest-4821 · webchat · Mama Ebi's Kitchen"),
]


def test_a_number_finds_its_holder_first_then_numbers_that_start_with_it() -> None:
    found = [c.conversation_id for c, _ in candidates_for("12", EVERYONE)]
    assert found == ["c_12", "c_120"]
    assert next(c.conversation_id for c, _ in candidates_for(":12", EVERYONE)) == "c_12"
    assert candidates_for("99", EVERYONE) == []


def test_letters_find_by_customer_channel_or_agent_best_first() -> None:
    assert [c.conversation_id for c, _ in candidates_for("funmi", EVERYONE)] == ["c_12"]
    assert [c.conversation_id for c, _ in candidates_for("harbour", EVERYONE)] == ["c_2"]
    kitchen = [c.conversation_id for c, _ in candidates_for("kitchen", EVERYONE)]
    assert kitchen == ["c_1", "c_120"]
    assert [c.conversation_id for c, _ in candidates_for("", EVERYONE)] == [
        c.conversation_id for c in EVERYONE
    ]


def shown_number(app: BimpeApp, conversation_id: str) -> int:
    """The number the row of `conversation_id` shows."""
    prompt = str(app.main.picker.options.get_option(conversation_id).prompt)
    return int(prompt.split()[0])


async def test_numbers_stay_while_the_list_resorts_and_after_a_restart(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    state = tmp_path / "state.toml"
    app = make_app(server, state, clock)
    app.monitor.config.refresh_interval = FAST
    async with app.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(app))
        await until(pilot, lambda: app.main.numbers is not None and len(app.main.numbers) > 0)
        first = list(app.order)
        # A first run numbers the rows as the list shows them.
        assert [shown_number(app, c) for c in first] == list(range(1, len(first) + 1))
        given = {c: shown_number(app, c) for c in first}

        # The world moves on until a row numbered 1-9 is no longer that many rows down.
        def moved() -> list[str]:
            order = app.order
            return [c for c in order if given.get(c, 10) <= 9 and order.index(c) + 1 != given[c]]

        for _ in range(200):
            if moved():
                break
            clock.advance(120, server)
            await pilot.pause()
            await until(pilot, lambda: not app.main.redraw_pending)
        assert moved(), "the list never re-sorted"
        still = [c for c in app.order if c in given]
        assert {c: shown_number(app, c) for c in still} == {c: given[c] for c in still}
        # Its digit opens it, wherever it now is.
        target = moved()[0]
        await pilot.press(str(given[target]))
        await until(pilot, lambda: app.monitor.current == target)
        numbered = app.main.numbers.as_dict() if app.main.numbers else {}
        await pilot.press("q")
    saved = tomllib.loads(state.read_text())["servers"]
    assert any(server_state.get("numbers") == numbered for server_state in saved.values())
    again = make_app(server, state, clock)
    async with again.run_test(size=(140, 60)) as pilot:
        await until(pilot, ready(again))
        await until(pilot, lambda: again.main.numbers is not None)
        listed = [c for c in again.order if c in numbered]
        assert listed
        assert {c: shown_number(again, c) for c in listed} == {c: numbered[c] for c in listed}


async def test_colon_and_a_number_or_ctrl_g_and_letters_open_a_conversation(
    server: DemoServer, tmp_path: Path, clock: FakeClock
) -> None:
    app = make_app(server, tmp_path / "state.toml", clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, ready(app))
        await until(pilot, lambda: app.main.numbers is not None and len(app.main.numbers) > 11)
        numbers = app.main.numbers
        assert numbers is not None
        await pilot.press("colon", "1", "2", "enter")
        await until(pilot, lambda: app.monitor.current == numbers.conversation(12))
        # By part of a name: the agent of conversation 3, then its customer.
        target = app.monitor.book.entries[numbers.conversation(3) or ""]
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, GoToScreen))
        await pilot.press(*target.conversation.who)
        await pilot.press("enter")
        await until(pilot, lambda: app.monitor.current == target.id)
        # Escape closes the finder and opens nothing.
        await pilot.press("ctrl+g", "x")
        await until(pilot, lambda: isinstance(app.screen, GoToScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GoToScreen))
        assert app.monitor.current == target.id
        # A number nobody holds says so.
        await pilot.press("colon", "9", "9", "9", "enter")
        await until(pilot, lambda: isinstance(app.screen, GoToScreen))
        await pilot.press("escape")
        assert app.monitor.current == target.id
