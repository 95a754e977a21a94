"""The log's search (ctrl+f) and filter (f): what they find, mark and keep.

`LogSearch` is the log's base: the search's matches in what the view holds,
stepped through with n and N and kept as items arrive or the log is drawn
again; the filter's choice of what the view holds. `MessageLog` adds the
following, the arrivals and the badge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TextArea

from ..api.models import Message
from ..book import TimelineItem
from ..search import Corpus, Hit, LogFilter, compile_query, find_hits, kept
from .log_bars import FilterBox, SearchBox
from .timeline_view import TimelineView


class LogSearch(Vertical):
    """A log's search and filter, over the `TimelineView` it holds."""

    BINDINGS = [
        Binding("ctrl+f", "search", "Search", id="log.search"),
    ]

    # Kept by the log (`MessageLog`): whether it follows the newest item, and
    # whether it is drawing itself again (its scrolls are not the reader's).
    _following: bool
    _redrawing: bool

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: The search: its text, whether it is a regex, its matches (item numbers
        #: as the view counts them), and which one the count points at.
        self._query = ""
        self._regex = False
        self._pattern: re.Pattern[str] | None = None
        self._hits: list[Hit] = []
        self._current = 0
        self._error = ""
        #: The item at the bottom of the view when the search box opened.
        self._anchor = 0
        #: The log's filter, and while one is set, every item (the view holds
        #: those it keeps).
        self._filter = LogFilter()
        self._all: list[TimelineItem] | None = None
        #: What the search looks in: the view's items' texts, made at the first
        #: search after the view was filled (None until then).
        self._corpus: Corpus | None = None
        #: The server is searching the whole conversation (ctrl+o): the count says so.
        self._asking = False

    @property
    def lines(self) -> TimelineView:
        """The timeline view itself."""
        return self.query_one(TimelineView)

    def _kept(self, items: Sequence[TimelineItem]) -> Sequence[TimelineItem]:
        """Those of `items` the view holds: all, or while filtered those kept."""
        return items if self._all is None else kept(items, self._filter)

    # -- search -----------------------------------------------------------------------

    def _bars(self) -> Vertical:
        """The boxes under the log (search above filter), made the first time one opens."""
        found = self.query("#log-bars")
        if found:
            return found.only_one(Vertical)
        bars = Vertical(id="log-bars")
        self.mount(bars, before=self.query_one("#new-marker"))
        return bars

    @property
    def searching(self) -> bool:
        """Whether a search is active (its matches marked, n and N move between them)."""
        return self._pattern is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Typing a reply (the reply box is docked in the log): ctrl+f is not a search
        # that would take the keys away from the draft.
        return not (action == "search" and isinstance(self.screen.focused, TextArea))

    async def action_search(self) -> None:
        """Open the search box (with the last search, to change it)."""
        self.add_class("-searching")
        view = self.lines
        self._anchor = view.base + view.bottom_item()
        if not self.query("#search-bar"):
            # Mounted the first time it is needed: a text box's cursor and
            # timers cost nothing to a reader who never searches.
            box = SearchBox(self, placeholder="search (ctrl+r: regex)", id="search")
            bar = Horizontal(box, Label("", id="search-count"), id="search-bar")
            await self._bars().mount(bar, before=0)
        self.screen.set_focus(self.query_one(SearchBox))
        self._show_count()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "log-filter":
            event.stop()
            self._filter_changed(event.value)
            return
        if event.input.id != "search":
            return
        event.stop()
        self._query = event.value
        self._compile()
        self._find(jump=True)

    def on_search_box_step(self, event: SearchBox.Step) -> None:
        event.stop()
        self.search_step(event.step)

    def on_search_box_toggle_regex(self, event: SearchBox.ToggleRegex) -> None:
        event.stop()
        self._regex = not self._regex
        self._compile()
        self._find(jump=True)

    def search_done(self) -> None:
        """Back to the log from the search box, the matches still marked."""
        if not self._query:
            self.clear_search()
            return
        self.screen.set_focus(self.lines)

    def _compile(self) -> None:
        self._pattern = None
        self._error = ""
        if not self._query:
            return
        try:
            self._pattern = compile_query(self._query, regex=self._regex)
        except re.error as exc:
            self._error = f"not a valid regex: {exc}"

    def _find(self, *, jump: bool) -> None:
        """Search everything the view holds; point at the first match from the top of the view."""
        pattern = self._pattern
        if pattern is None:
            self._hits = []
        elif self._regex:
            self._hits = self._searched().find(pattern)
        else:
            self._hits = self._searched().find_text(self._query)
        if self._hits:
            # Back from where the search began, as a reader searches a chat's
            # history: the nearest match at or above the bottom of the view then.
            anchor = self._anchor
            before = [n for n, hit in enumerate(self._hits) if hit.item <= anchor]
            self._current = before[-1] if before else 0
        self._mark()
        if jump:
            self._jump()

    def _point_at(self, item: TimelineItem, start: int) -> None:
        """Make the match at `start` in `item` (found by identity) the current one."""
        items = self.lines.items
        base = self.lines.base
        for n, hit in enumerate(self._hits):
            number = hit.item - base
            if hit.start == start and 0 <= number < len(items) and items[number] is item:
                self._current = n
                self._anchor = hit.item
                self._mark()
                return

    def _searched(self) -> Corpus:
        """The corpus of what the view holds, up to date."""
        view = self.lines
        corpus = self._corpus
        if corpus is None:
            corpus = self._corpus = Corpus()
            corpus.reset(view.items, view.base)
        else:
            corpus.drop_front(view.base)
        return corpus

    def _found_more(self, items: Sequence[TimelineItem], first: int) -> None:
        """Arrivals searched too: the count grows, the reader stays where they are."""
        assert self._pattern is not None
        more = find_hits(items, self._pattern, first=first)
        if more:
            self._hits.extend(more)
            self._mark()

    def _mark(self) -> None:
        view = self.lines
        base = view.base
        # Matches in items the view dropped (a long session) are gone with them.
        if self._hits and self._hits[0].item < base:
            dropped = sum(1 for hit in self._hits if hit.item < base)
            self._hits = self._hits[dropped:]
            self._current = max(0, self._current - dropped)
        marks: dict[int, list[tuple[int, int, bool]]] = {}
        for number, hit in enumerate(self._hits):
            marks.setdefault(hit.item, []).append((hit.start, hit.end, number == self._current))
        view.set_marks(marks)
        self._show_count()

    def _jump(self) -> None:
        if self._hits:
            view = self.lines
            view.reveal(self._hits[self._current].item - view.base)

    def current_match_item(self) -> int | None:
        """The number of the item holding the current search match, if searching."""
        if self._pattern is None or not self._hits:
            return None
        return self._hits[self._current].item

    def search_step(self, step: int) -> None:
        """Go to the next (1, newer) or previous (-1, older) match, round the ends."""
        if not self._hits:
            return
        self._current = (self._current + step) % len(self._hits)
        self._mark()
        self._jump()

    def clear_search(self) -> None:
        """Forget the search and close its box."""
        self._query = ""
        self._pattern = None
        self._hits = []
        self._current = 0
        self.lines.set_marks({})
        self.remove_class("-searching")
        for box in self.query(SearchBox):
            with box.prevent(Input.Changed):
                box.value = ""
            if self.screen.focused is box:
                self.screen.set_focus(self.lines)

    def asking_server(self, asking: bool) -> None:
        """Say in the search's count that the server is searching the whole conversation."""
        self._asking = asking
        self._show_count()

    def _show_count(self) -> None:
        if not self.query("#search-count"):
            return
        label = self.query_one("#search-count", Label)
        mode = " · regex" if self._regex else ""
        if self._asking:
            words = "searching the whole conversation…"
        elif self._error:
            words = self._error
        elif not self._query:
            words = "type to search"
        elif not self._hits:
            words = "no matches"
        else:
            words = f"{self._current + 1} of {len(self._hits)}"
        label.update(f" {words}{mode} ")

    # -- filter -----------------------------------------------------------------------

    @property
    def filtered(self) -> bool:
        """Whether the log shows only some messages."""
        return self._all is not None

    def _through_filter(self, items: Sequence[TimelineItem]) -> Sequence[TimelineItem]:
        """What the view holds of these items: all, or while filtered those kept."""
        if self._all is None:
            return items
        self._all = list(items)
        shown = kept(items, self._filter)
        self._show_filter()
        return shown

    async def open_filter(self) -> None:
        """Open the filter box (with the filter as it is, to change it)."""
        self.add_class("-filtering")
        if not self.query("#filter-bar"):
            box = FilterBox(
                self, placeholder="filter: words, @customer @agent @staff @other", id="log-filter"
            )
            bar = Horizontal(box, Label("", id="filter-count"), id="filter-bar")
            await self._bars().mount(bar)
        self.screen.set_focus(self.query_one(FilterBox))
        self._show_filter()

    def _filter_changed(self, text: str) -> None:
        log_filter = LogFilter.parse(text)
        if log_filter == self._filter:
            return
        view = self.lines
        every = self._all if self._all is not None else list(view.items)
        top = view.items[view.top_item()] if view.items and not self._following else None
        self._filter = log_filter
        self._all = every if log_filter else None
        view.fill(kept(every, log_filter) if log_filter else every, view._now)
        self._corpus = None
        self._place(top)
        if self._pattern is not None:
            self._find(jump=False)
        self._show_filter()

    def _place(self, top: TimelineItem | None) -> None:
        """After the view was filled again: at the end if following, else near `top`."""
        view = self.lines
        if self._following or top is None:
            view.scroll_to(y=view.max_scroll_y, animate=False)
            view.settle()
            return
        items = view.items
        position = next((n for n, item in enumerate(items) if item is top), None)
        if position is None:
            # Not shown now: the nearest item after it that is.
            every = self._all if self._all is not None else items
            ids = {id(item): n for n, item in enumerate(every)}
            after = ids.get(id(top), 0)
            position = next(
                (n for n, item in enumerate(items) if ids.get(id(item), -1) >= after),
                len(items) - 1,
            )
        self._redrawing = True
        try:
            view.scroll_to_item(max(0, position))
        finally:
            self._redrawing = False

    def filter_done(self) -> None:
        """Back to the log from the filter box, the filter kept."""
        self.screen.set_focus(self.lines)

    def clear_filter(self) -> None:
        """Show every message again, and close the filter box."""
        self.remove_class("-filtering")
        for box in self.query(FilterBox):
            with box.prevent(Input.Changed):
                box.value = ""
            if self.screen.focused is box:
                self.screen.set_focus(self.lines)
        self._filter_changed("")

    def _show_filter(self) -> None:
        if not self.query("#filter-count"):
            return
        label = self.query_one("#filter-count", Label)
        if self._all is None:
            label.update(" showing every message ")
            return
        shown = sum(1 for item in self.lines.items if isinstance(item, Message))
        total = sum(1 for item in self._all if isinstance(item, Message))
        label.update(f" showing {shown:,} of {total:,} · filter: {self._filter.describe()} ")
