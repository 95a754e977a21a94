"""Alerts from what the monitor sees: highlighted messages and list changes, offered
to the alerter, which decides what to tell now and what to fold into a summary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from ..alerts import Alert, Alerter, AlertRules, highlight_alert
from ..api.models import Message
from ..book import Entry, TimelineItem
from ..config import AlertSettings
from .events import AlertRaised, Emit


class Alerting:
    """The alert rules and the alerter, and the timer that flushes its summaries."""

    def __init__(self, settings: AlertSettings, emit: Emit, *, tmux_passthrough: bool) -> None:
        self._emit = emit
        self.rules = AlertRules(settings)
        self.alerter = Alerter(settings, tmux_passthrough=tmux_passthrough)
        self._flush_handle: asyncio.TimerHandle | None = None

    def highlight(self, entry: Entry, items: Sequence[TimelineItem]) -> None:
        """Alert for new messages that match the highlight rules."""
        rules = self.rules
        needs_attention = entry.conversation.needs_attention
        for item in items:
            if isinstance(item, Message):
                match = rules.match_message(item, needs_attention)
                if match is not None:
                    entry.highlights[item.id] = match.spans
                    alert = highlight_alert(entry.conversation, item, match, agent=entry.agent.name)
                    self.raise_alert(alert)

    def raise_alert(self, alert: Alert) -> None:
        """Offer an alert: told now, or later in a summary (or not at all)."""
        decision = self.alerter.offer(alert, time.monotonic())
        if decision.action == "notify":
            self._emit(AlertRaised(decision))
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        due = self.alerter.next_flush_at()
        if due is None or self._flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        self._flush_handle = loop.call_later(max(0.0, due - time.monotonic()), self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        decision = self.alerter.flush(time.monotonic())
        if decision is not None and decision.action == "notify":
            self._emit(AlertRaised(decision))
        self._schedule_flush()

    def close(self) -> None:
        """No summary after the monitor has closed."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
