"""The random walk: seeded sequences of what a person does, checked against the server.

A person opens conversations, jumps by number, scrolls, searches, filters,
takes over, replies (one, two or three enters in one read, empty, too long),
hands back, marks unread, exports, resizes, quits and relaunches, and is
killed and relaunched. The walk does all of it through the real app (the
pilot; keys that a terminal would deliver in one read are queued together)
against the demo server on loopback, with stream faults and, if asked, a
stream that lags the POST's answers. After every step it checks, against the
server's own records:

- every message the log shows exists on the server with that text, at most
  once, in server order;
- every text sent is on the server at most once, and each the app shows as
  sent exactly once;
- no "sending…" item outlives its send by more than `PENDING_LIMIT`;
- received and seen cursors never move back (but for `m`, which moves seen
  back on purpose) and never name a message the app did not take in;
- the state file always parses;
- nothing is reported as an internal error.

A failing walk names its seed; `Walk(seed=...)` replays it (`python -m soak
--walk-seed N` or the test's `WALK_SEED` variable).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import time
import tomllib
import traceback
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot

from bimpe_tui.api.models import Message
from bimpe_tui.api.stream import parse_timestamp
from bimpe_tui.app import AppConfig, BimpeApp
from bimpe_tui.book import Pending
from bimpe_tui.demo.faults import FaultPlan
from bimpe_tui.demo.server import DemoServer
from bimpe_tui.screens.confirm import ConfirmScreen
from bimpe_tui.state import StateStore
from tests.apptools import FakeClock, until

#: How long a "sending…" item may stand (the client's retries of a lost answer included).
PENDING_LIMIT = 12.0
#: Stream faults the walk suffers (the send's lost answer too): none loses data.
WALK_FAULTS = ("drop", "cut", "close", "ticket_503", "send_lost")
SIZES = ((140, 40), (100, 30), (80, 24), (60, 20))

#: What a person does, and how often (relative weights).
ACTIONS: dict[str, int] = {
    "time passes": 12,
    "open by number": 8,
    "next": 4,
    "next unread": 3,
    "scroll": 10,
    "search": 3,
    "server search": 1,
    "filter": 3,
    "take over": 4,
    "hand back": 3,
    "reply": 10,
    "mark unread": 2,
    "peek": 2,
    "export": 1,
    "resize": 2,
    "quit and relaunch": 1,
    "kill and relaunch": 1,
}


def key_event(key: str) -> events.Key:
    """The event a terminal's bytes for `key` become (as `Pilot.press` builds it)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


@dataclass
class WalkReport:
    """What a walk did and found."""

    seed: int
    actions: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    violations: list[str] = field(default_factory=list)
    #: Messages of the log compared with the server's, over every check.
    messages_checked: int = 0
    #: Messages the walk's sends left on the server (each checked to be there once).
    sent_on_server: int = 0
    #: Seconds spent per action (where a slow walk's time goes).
    durations: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    #: The last steps, for a failure's message.
    trail: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return sum(self.actions.values())

    def summary(self) -> str:
        """One paragraph: the seed, what ran, and what was found."""
        done = ", ".join(f"{name} {n}" for name, n in sorted(self.actions.items()))
        found = "no violations" if not self.violations else f"{len(self.violations)} violations"
        return (
            f"walk seed {self.seed}: {self.steps} actions ({done}); {self.checks} checks of "
            f"{self.messages_checked:,} messages shown and {self.sent_on_server} sent; {found}"
        )


class Walk:
    """One seeded walk over the whole app (see the module's docstring)."""

    def __init__(
        self,
        seed: int,
        work: Path,
        *,
        steps: int,
        lag: bool = False,
        faults: bool = True,
        progress_every: int = 0,
    ) -> None:
        self.seed = seed
        self.progress_every = progress_every
        self.work = work
        self.steps = steps
        self.rng = random.Random(seed)
        self.clock = FakeClock()
        plan = FaultPlan(kinds=WALK_FAULTS, rate=0.05, seed=seed) if faults else FaultPlan()
        self.server = DemoServer(
            seed=7, rate=1.0, clock=self.clock, heartbeat_interval=5.0, faults=plan, stream_lag=lag
        )
        self.state_path = work / "state.toml"
        self.report = WalkReport(seed)
        self.size = SIZES[0]
        self._sent_texts: set[str] = set()
        self._text_no = 0
        self._pending_since: dict[int, float] = {}
        self._cursors: dict[str, tuple[float | None, float | None]] = {}
        self._taken_in: dict[str, float] = {}
        self._run = 0

    # -- the walk ---------------------------------------------------------------------

    async def run(self) -> WalkReport:
        """Walk `steps` actions (relaunching as the walk says); the report."""
        async with self.server:
            while self.report.steps < self.steps and not self.report.violations:
                await self._one_run()
        return self.report

    def _app(self) -> BimpeApp:
        self._run += 1
        return BimpeApp(
            AppConfig(
                state=StateStore(self.state_path, debounce=0.2),
                demo=self.server,
                stream_options={"base_delay": 0.05, "read_timeout": 10.0},
                tz=UTC,
                clock=self.clock,
                record=io.StringIO(),
                export_dir=str(self.work / "downloads"),
            )
        )

    async def _one_run(self) -> None:
        app = self._app()
        try:
            ending, on_disk = await self._drive(app)
        except Exception as error:
            # The app raised (run_test re-raises what ended it): a finding with the
            # seed and the trail, like any broken promise, never a crash of the walk.
            where = "".join(traceback.format_tb(error.__traceback__)[-6:])
            self._violation(f"the app raised {type(error).__name__}: {error}\n{where}")
            return
        if ending == "kill and relaunch":
            # What a SIGKILL leaves: the state file as it was, no final save.
            if on_disk is None:
                self.state_path.unlink(missing_ok=True)
            else:
                self.state_path.write_bytes(on_disk)
            # A killed run's later cursors never reached the disk.
            self._cursors.clear()
        else:
            self._drain_record(app)
        self._check_state_file()

    async def _drive(self, app: BimpeApp) -> tuple[str, bytes | None]:
        """One run of the app, until the walk quits, kills or ends it: how it ended,
        and the state file as it was before the app's last save."""
        ending = "quit"
        on_disk: bytes | None = None
        async with app.run_test(size=self.size, notifications=True) as pilot:
            await until(pilot, lambda: app.monitor.ready and app.monitor.current is not None, 30)
            self.check(app)
            while self.report.steps < self.steps and not self.report.violations:
                name = self._choose()
                self.report.actions[name] += 1
                self._note(f"run {self._run}: {name}")
                if name in ("quit and relaunch", "kill and relaunch"):
                    ending = name
                    break
                started = time.monotonic()
                try:
                    await self._act(pilot, app, name)
                except TimeoutError:
                    # A dialog or box that never answered is a finding with its seed
                    # and trail, not a crash of the walk.
                    self._violation(f"{name}: stuck (still on {type(app.screen).__name__})")
                    break
                await pilot._wait_for_screen()
                if self.progress_every and self.report.steps % self.progress_every == 0:
                    print(f"  {self.report.steps} actions, {self.report.checks} checks", flush=True)
                self.report.durations[name] += time.monotonic() - started
                if os.environ.get("WALK_VERBOSE"):
                    print(f"{time.monotonic() - started:6.2f} {name} {self.size}", flush=True)
                self.check(app)
            on_disk = self.state_path.read_bytes() if self.state_path.exists() else None
            if ending == "kill and relaunch":
                self._drain_record(app)
                app.exit()
            else:
                await self.press(pilot, "escape", "escape")
                app.exit()
        return ending, on_disk

    def _choose(self) -> str:
        names = list(ACTIONS)
        return self.rng.choices(names, weights=[ACTIONS[n] for n in names])[0]

    def _note(self, words: str) -> None:
        self.report.trail.append(words)
        del self.report.trail[:-30]

    # -- actions ----------------------------------------------------------------------

    async def _act(self, pilot: Pilot[Any], app: BimpeApp, name: str) -> None:
        rng = self.rng
        await self._close_dialogs(pilot, app)
        if name == "time passes":
            self.clock.advance(rng.choice((2, 10, 30, 120)), self.server)
        elif name == "open by number":
            await self.press(pilot, "h", str(rng.randint(1, 9)))
        elif name == "next":
            await self.press(pilot, rng.choice(("right_square_bracket", "left_square_bracket")))
        elif name == "next unread":
            await self.press(pilot, "alt+a")
        elif name == "scroll":
            keys = ("home", "end", "pageup", "pagedown", "up", "down")
            await self.press(pilot, "l", *rng.choices(keys, k=rng.randint(1, 4)))
        elif name == "search":
            word = rng.choice(("order", "refund", "hello", "zz-none"))
            await self.press(pilot, "l", "ctrl+f", *word, "enter", "escape", "escape")
        elif name == "server search":
            await self._server_search(pilot, app)
        elif name == "filter":
            await self.press(
                pilot, "l", "f", *rng.choice(("@customer", "order", "@agent")), "enter"
            )
            await self.press(pilot, "escape")
        elif name == "take over":
            await self._answer(pilot, app, "t", "take-over")
        elif name == "hand back":
            await self._answer(pilot, app, "b", "hand-back")
        elif name == "reply":
            await self._reply(pilot, app)
        elif name == "mark unread":
            await self.press(pilot, "l", "m")
            # The mark goes up from the log to the screen as a message: let it land
            # (a whole idle wait), then the seen cursor may have moved back, on purpose.
            await pilot.pause()
            self._cursors = {c: (r, None) for c, (r, _) in self._cursors.items()}
        elif name == "peek":
            await self.press(pilot, "h", "p")
        elif name == "export":
            await self.press(pilot, "l", "e")
            await self._choose_in_dialog(pilot, app, "loaded-md")
        elif name == "resize":
            self.size = rng.choice(SIZES)
            await pilot.resize_terminal(*self.size)

    async def press(self, pilot: Pilot[Any], *keys: str) -> None:
        """Keys as a person types them, each handled before the next is sent.

        Not `Pilot.press`: it also waits for the whole process to idle, which with
        a demo server in the same process, streaming, takes up to 2 s a key.
        """
        app = pilot.app
        for key in keys:
            app.post_message(key_event(key))
            await pilot._wait_for_screen()

    async def _close_dialogs(self, pilot: Pilot[Any], app: BimpeApp) -> None:
        for _ in range(3):
            if isinstance(app.screen, ConfirmScreen) or len(app.screen_stack) > 2:
                await self.press(pilot, "escape")
                await pilot.pause()

    async def _answer(self, pilot: Pilot[Any], app: BimpeApp, key: str, choice: str) -> None:
        await self.press(pilot, "l", key)
        await pilot.pause()
        if isinstance(app.screen, ConfirmScreen):
            await self._choose_in_dialog(pilot, app, choice)

    async def _choose_in_dialog(self, pilot: Pilot[Any], app: BimpeApp, choice: str) -> None:
        screen = app.screen
        if not isinstance(screen, ConfirmScreen):
            return
        # A person answers what they see: keys read before the dialog was drawn
        # are dropped on purpose (a second enter meant for the box below).
        await until(pilot, lambda: screen.shown_at is not None, 10)
        ids = [choice_id for choice_id, _ in screen.choices]
        if choice not in ids or self.rng.random() < 0.15:
            await self.press(pilot, "escape")  # a person changes their mind
            return
        steps = ids.index(choice) + (1 if screen.deliberate else 0)
        await self.press(pilot, *["tab"] * steps, "enter")

    def _same_read(self, app: BimpeApp, *keys: str) -> None:
        for key in keys:
            app.post_message(key_event(key))

    async def _reply(self, pilot: Pilot[Any], app: BimpeApp) -> None:
        rng = self.rng
        await self.press(pilot, "l", "c")
        await pilot.pause()
        if isinstance(app.screen, ConfirmScreen):
            await self._choose_in_dialog(pilot, app, rng.choice(("reply", "take-over")))
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), 10)
        box = app.main.compose_box
        if app.focused is not box:
            return
        kind = rng.choice(("one", "one", "two", "three", "empty", "too long"))
        if kind == "empty":
            box.text = ""
            self._same_read(app, "enter")
            return
        self._text_no += 1
        text = f"walk {self.seed} #{self._text_no}"
        if kind == "too long":
            text += " " + "x" * 5000
        self._sent_texts.add(text)
        box.text = text
        enters = {"one": 1, "two": 2, "three": 3, "too long": 1}[kind]
        self._same_read(app, *["enter"] * enters)
        await pilot.pause()
        if rng.random() < 0.5:
            # Wait for the answer (else the next action comes while it is in flight).
            await until(pilot, lambda: not box.busy, 20)
        if rng.random() < 0.5:
            await self.press(pilot, "escape")

    async def _server_search(self, pilot: Pilot[Any], app: BimpeApp) -> None:
        await self.press(pilot, "l", "ctrl+f", *"order", "ctrl+o")
        with contextlib.suppress(TimeoutError):
            await until(pilot, lambda: len(app.screen_stack) > 2, 5)
        if len(app.screen_stack) > 2:
            await self.press(pilot, self.rng.choice(("enter", "escape")))
        await self.press(pilot, "escape", "escape")
        if self.rng.random() < 0.5:
            await self.press(pilot, "end")

    # -- checks -----------------------------------------------------------------------

    def _violation(self, words: str) -> None:
        trail = " → ".join(self.report.trail[-12:])
        self.report.violations.append(f"seed {self.seed}: {words} (after: {trail})")

    def _server_message(self, conversation_id: str, message_id: str) -> dict[str, object] | None:
        return self.server.actions.find_message(conversation_id, message_id)

    def _position(self, conversation_id: str, message_id: str) -> float | None:
        found = self._server_message(conversation_id, message_id)
        if found is None:
            return None
        when = parse_timestamp(str(found["created_at"]))
        return None if when is None else when.timestamp()

    def _drain_record(self, app: BimpeApp) -> None:
        """What the app took in (history pages and stream deliveries), newest position."""
        record = app.config.record
        assert isinstance(record, io.StringIO)
        for line in record.getvalue().splitlines():
            row = json.loads(line)
            position = self._position(row["c"], row["id"])
            if position is not None:
                current = self._taken_in.get(row["c"])
                self._taken_in[row["c"]] = max(position, current or position)
        record.seek(0)
        record.truncate()

    def check(self, app: BimpeApp) -> None:
        """Every promise, after one step."""
        self.report.checks += 1
        self._drain_record(app)
        self._check_view(app)
        self._check_sends(app)
        self._check_pending(app)
        self._check_cursors(app)
        self._check_state_file()
        for notification in app._notifications:
            if "internal error" in notification.message or "Traceback" in notification.message:
                self._violation(f"reported: {notification.message}")

    def _check_view(self, app: BimpeApp) -> None:
        conversation_id = app.monitor.current
        if conversation_id is None:
            return
        shown = [i for i in app.main.log_view.lines.items if isinstance(i, Message)]
        self.report.messages_checked += len(shown)
        ids = [m.id for m in shown]
        twice = [i for i, n in Counter(ids).items() if n > 1]
        if twice:
            self._violation(f"the log shows {twice[:3]} more than once")
        last: float | None = None
        for message in shown:
            found = self._server_message(conversation_id, message.id)
            if found is None:
                self._violation(f"the log shows {message.id}, which the server does not have")
                continue
            if found.get("message") != message.message:
                self._violation(f"the log shows {message.id} with another text")
            when = parse_timestamp(str(found["created_at"]))
            stamp = None if when is None else when.timestamp()
            if stamp is not None:
                # Shown, so taken in (pages read by a jump or a refill are not in the
                # record, which has the first page and the stream's deliveries).
                taken = self._taken_in.get(conversation_id)
                self._taken_in[conversation_id] = max(stamp, taken or stamp)
            if stamp is not None and last is not None and stamp < last:
                self._violation(f"the log shows {message.id} out of the server's order")
            last = stamp if stamp is not None else last

    def _check_sends(self, app: BimpeApp) -> None:
        self.report.sent_on_server = sum(
            1
            for entry in app.monitor.book.entries.values()
            for text in self.server.actions.sent_texts(entry.id)
            if text in self._sent_texts
        )
        for entry in app.monitor.book.entries.values():
            texts = Counter(self.server.actions.sent_texts(entry.id))
            for text, n in texts.items():
                if n > 1 and text in self._sent_texts:
                    self._violation(f"{text[:40]!r} is on the server {n} times")
            for message in entry.timeline.messages():
                text = message.message or ""
                # Only the walk's own texts are unique: keys meant for the log that
                # landed in an open reply box make a text that may be sent again.
                if text not in self._sent_texts:
                    continue
                if message.id in entry.timeline.mine and texts.get(text, 0) != 1:
                    self._violation(f"{text[:40]!r} shown as sent, not once on server")

    def _check_pending(self, app: BimpeApp) -> None:
        now = time.monotonic()
        standing: set[int] = set()
        for entry in app.monitor.book.entries.values():
            for item in entry.timeline.items:
                if isinstance(item, Pending):
                    standing.add(id(item))
                    since = self._pending_since.setdefault(id(item), now)
                    if now - since > PENDING_LIMIT:
                        self._violation(f"'sending…' stood {now - since:.0f} s: {item.text[:30]!r}")
        self._pending_since = {k: v for k, v in self._pending_since.items() if k in standing}

    def _check_cursors(self, app: BimpeApp) -> None:
        for conversation_id, cursor in app.monitor.saved.cursors.items():
            received = self._cursor_position(conversation_id, cursor.received, "received")
            seen = self._cursor_position(conversation_id, cursor.seen, "seen")
            before_received, before_seen = self._cursors.get(conversation_id, (None, None))
            for name, now, then in (
                ("received", received, before_received),
                ("seen", seen, before_seen),
            ):
                if now is not None and then is not None and now < then:
                    self._violation(f"the {name} cursor of {conversation_id} moved back")
            self._cursors[conversation_id] = (
                received if received is not None else before_received,
                seen if seen is not None else before_seen,
            )

    def _cursor_position(
        self, conversation_id: str, message_id: str | None, name: str
    ) -> float | None:
        if message_id is None:
            return None
        position = self._position(conversation_id, message_id)
        if position is None:
            self._violation(f"the {name} cursor names {message_id}, not on the server")
            return None
        taken = self._taken_in.get(conversation_id)
        # Nothing taken in yet: a first open saves the message just before its page
        # (fetched, not shown) before placing the page; it claims nothing shown.
        if taken is not None and position > taken:
            self._violation(f"the {name} cursor names {message_id}, never taken in")
        return position

    def _check_state_file(self) -> None:
        if not self.state_path.exists():
            return
        try:
            tomllib.loads(self.state_path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            self._violation(f"the state file does not parse: {error}")


async def walk(seed: int, work: Path, steps: int, **options: Any) -> WalkReport:
    """Run one walk; its report."""
    return await Walk(seed, work, steps=steps, **options).run()
