"""The Textual app: composes the main screen, routes the monitor's events, app-wide keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from . import collector
from .keys import Row, sections
from .monitor import (
    AlertRaised,
    Connection,
    Fatal,
    Monitor,
    MonitorConfig,
    MonitorEvent,
    Notice,
    server_key,
)
from .operator import Operator
from .render import visible
from .screens.confirm import ConfirmScreen, QuestionKeys, open_dialog
from .screens.goto import GoToKeys
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .widgets.compose import ReplyKeys
from .widgets.message_log import FilterKeys, MessageLog, SearchKeys, TimelineView
from .widgets.picker import ConversationList, Picker

if TYPE_CHECKING:
    from .demo.server import DemoServer

__all__ = ["AppConfig", "BimpeApp", "server_key"]

#: The help's words for the actions that read-only mode takes away.
ACTING = frozenset({"Take over", "Hand back", "Reply"})
#: What the help says of each: none of them is one stray key (docs/acting.md).
ASKS_FIRST = {
    "Take over": "Take over (asks first, naming the customer)",
    "Hand back": "Hand back (asks first, naming the customer)",
    "Reply": "Reply (asks first unless you have the conversation)",
}
#: Seconds an alert's toast stays: three times Textual's default, as the person it is
#: for is often in another window when it comes (the bell or OSC brings them back).
ALERT_TOAST = 15.0


@dataclass
class AppConfig(MonitorConfig):
    """The monitor's settings plus what only the terminal needs.

    The app connects the monitor to `base_url` with `api_key`, or to the embedded
    `demo` server, which it starts (unless it is running) and stops again: it sets
    `connection` from these at start-up.
    """

    #: Never in a repr: Textual's crash report prints local variables.
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    #: A demo server to serve from (started by the app if it is not running).
    demo: DemoServer | None = None
    #: The time zone for message times (None: the machine's).
    tz: tzinfo | None = None
    #: Warnings gathered before the app started (config file problems).
    warnings: list[str] = field(default_factory=list)
    #: `--read-only` or `read_only = true`: every action (take over, reply) hidden.
    read_only: bool = False


class BimpeApp(App[None]):
    """Watch conversations of all agents live; resume where you left off."""

    CSS_PATH = "app.tcss"
    TITLE = "bimpe-tui"

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        # Not in the footer from here: the main screen shows it first (see its bindings).
        Binding("question_mark", "help", "Help", show=False, id="app.help"),
    ]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        # Process-wide, here so that every way of starting the app (the CLI, the
        # benchmarks, the tests) runs with it: see `collector`.
        collector.tune()
        self.config = config
        self.monitor = Monitor(config, self._route, can_see=self._can_see)
        self.operator = Operator(self.monitor, read_only=config.read_only)
        self.main = MainScreen(
            self.monitor, tz=config.tz, clock=config.clock, operator=self.operator
        )
        #: Set whenever a monitor event has been rendered (tests and tools wait on it).
        self.updated = asyncio.Event()
        #: The app started the demo server, so it stops it.
        self._owns_demo = False

    def on_mount(self) -> None:
        self.push_screen(self.main)
        for warning in self.config.warnings:
            self.notify(warning, severity="warning", timeout=10, markup=False)
        self.start_up()

    @work(group="startup", exclusive=True, exit_on_error=False)
    async def start_up(self) -> None:
        """Connect and list (again, after a failure: the `r` key)."""
        config = self.config
        demo = config.demo
        if demo is None:
            self.sub_title = urlsplit(config.base_url).netloc
            config.connection = Connection.to(config.base_url, config.api_key)
        else:
            self.sub_title = "demo server"
            if not demo.running:
                await demo.start()
                self._owns_demo = True
            config.connection = Connection.to_demo(demo)
        await self.monitor.start()
        if self.monitor.ready:
            self.main.picker.options.focus()

    def _route(self, event: MonitorEvent) -> None:
        """Every monitor event: toasts and exits here, the rest to the main screen."""
        if isinstance(event, Notice):
            self.notify(event.text, severity=event.severity, markup=False)
        elif isinstance(event, AlertRaised):
            self._alert(event)
        elif isinstance(event, Fatal):
            self.exit(return_code=event.exit_code, message=event.message)
        else:
            self.main.render_event(event)
        self.updated.set()

    def _alert(self, event: AlertRaised) -> None:
        """A toast, and the bell or desktop notification as the terminal's own bytes."""
        decision = event.decision
        # Emoji sequences made safe as in the log, so the toast's border holds.
        title, body = visible(decision.title), visible(decision.body)
        self.notify(body, title=title, severity="warning", timeout=ALERT_TOAST, markup=False)
        driver = self._driver
        if decision.terminal and driver is not None and not self.is_headless:
            # As App.bell() does: the driver owns the terminal's output.
            driver.write(decision.terminal)
            driver.flush()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not self.screen_stack:
            # Read as the app closes (quit, then the rest of a terminal read): the
            # screens are gone, so there is nothing for the key to act on.
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            screen = self.screen
            if isinstance(screen, ConfirmScreen) and not screen.takes_key(event.time):
                # Read before the dialog was shown: typed for what was under it
                # (a second enter in the same read), never an answer to it.
                return
            # A key pressed: the user is moving, so the list holds still.
            self.main.hold()
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        # A key reaches the app after the widget that had focus when it was
        # typed. A printable one arriving while a text box has focus was typed
        # ahead, before a key such as "/" moved the focus there: it belongs in
        # the box (the box itself stops every printable key it takes).
        focused = self.focused
        if (
            isinstance(focused, Input)
            and focused.display
            and event.is_printable
            and event.character
        ):
            event.stop()
            focused.insert_text_at_cursor(event.character)

    def _can_see(self) -> bool:
        """Whether the user can see the open conversation's newest message right now."""
        return (
            self.app_focus
            and not isinstance(self.screen, HelpScreen)
            and self.main.is_mounted
            and self.main.log_view.following
        )

    def watch_app_focus(self, focused: bool) -> None:
        if focused:
            self.monitor.seen_now()

    # -- shortcuts for tools and tests ------------------------------------------------

    @property
    def order(self) -> list[str]:
        """Conversation ids in the order the picker shows them."""
        return self.main.order

    @property
    def redraw_pending(self) -> bool:
        """Whether the picker shows stale rows until its next redraw."""
        return self.main.redraw_pending

    # -- actions --------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key binding (or close them: `?` typed fast twice toggles)."""
        # A second `?` can arrive before the help screen has the focus, and
        # would reach this binding instead of the help's own: never stack two.
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        open_dialog(self, HelpScreen(self.binding_sections()))

    def binding_sections(self) -> list[tuple[str, list[Row]]]:
        """Every binding the user can press, by where it applies, read from the bindings."""
        groups: list[tuple[str, list[type]]] = [
            ("everywhere", [type(self), MainScreen]),
            ("conversation list", [ConversationList, Picker]),
            ("message log", [TimelineView, MessageLog]),
        ]
        groups.append(("the log's search box", [SearchKeys]))
        groups.append(("the log's filter box", [FilterKeys]))
        if self.operator.can_act:
            groups.append(("reply box", [ReplyKeys]))
        groups.append(("a question", [QuestionKeys]))
        groups.append(("go to a conversation (ctrl+g)", [GoToKeys]))
        rows = sections(groups)
        if not self.operator.can_act:
            # Read-only: the help does not offer what the keys will not do.
            rows = [(title, [r for r in found if r[1] not in ACTING]) for title, found in rows]
        rows = [(title, [(k, ASKS_FIRST.get(d, d)) for k, d in found]) for title, found in rows]
        palette = (self.COMMAND_PALETTE_BINDING, "Command palette")
        rows[0][1].append(palette)
        return rows

    async def action_quit(self) -> None:
        """Leave; where you are is saved on the way out."""
        self.exit()

    async def on_unmount(self) -> None:
        await self.monitor.close()
        if self._owns_demo and self.config.demo is not None:
            await self.config.demo.stop()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main
        yield SystemCommand(
            "Next unread", "Open the next conversation with unread", main.action_next_unread
        )
        yield SystemCommand(
            "Next conversation", "Open the next conversation", lambda: main.action_cycle(1)
        )
        yield SystemCommand(
            "Previous conversation", "Open the previous one", lambda: main.action_cycle(-1)
        )
        yield SystemCommand("Filter conversations", "Type to narrow the list", main.action_filter)
        yield SystemCommand(
            "Go to conversation", "By its number or part of a name", main.action_go_to
        )
        yield SystemCommand("Reconnect", "Reconnect a stream that gave up", main.action_retry)
        if self.monitor.current is not None:
            for fmt, name in (("md", "Markdown"), ("jsonl", "JSON Lines")):
                yield SystemCommand(
                    f"Export conversation (loaded) to {name}",
                    "Write the messages loaded in the app to a file",
                    lambda fmt=fmt: main.export_open(fmt, everything=False),
                )
                yield SystemCommand(
                    f"Export conversation (all, fetching pages) to {name}",
                    "Write every message of the open conversation, from the first",
                    lambda fmt=fmt: main.export_open(fmt, everything=True),
                )
        if self.operator.can_act and self.monitor.current is not None:
            # Read-only (or a key that can only read): no action is offered at all.
            yield SystemCommand(
                "Take over",
                "Pause the AI of the open conversation: you have it",
                main.action_take_over,
            )
            yield SystemCommand(
                "Hand back", "Resume the AI of the open conversation", main.action_hand_back
            )
            yield SystemCommand("Reply", "Write to the open conversation", main.action_reply)
        yield SystemCommand("Key bindings", "Show every key binding", self.action_help)
