"""The state file's record of one server: what was watched and open, and every
conversation's cursors (how far delivery and the reader have got)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from ..api.models import Message
from ..book import Entry
from ..state import Cursor, ServerState, StateStore


class Cursors:
    """One server's part of the state file, and the record written ahead of it."""

    def __init__(self, state: StateStore, record: TextIO | None) -> None:
        self.state = state
        self._record = record
        #: The server's key in the state file (set when the monitor starts).
        self.server_key = ""

    @property
    def saved(self) -> ServerState:
        """What the state file holds for this server."""
        return self.state.server(self.server_key)

    def cursor(self, entry: Entry) -> Cursor:
        """The conversation's cursor, created if it has none."""
        return self.saved.cursors.setdefault(entry.id, Cursor(agent_id=entry.agent.id))

    def received(self, entry: Entry, last: Message) -> None:
        """Delivery of the conversation stands at `last` (the next stream starts after it)."""
        cursor = self.cursor(entry)
        cursor.received = last.id
        cursor.received_at = last.created_at or None
        self.state.changed()

    def write_record(self, conversation_id: str, messages: Sequence[Message]) -> None:
        """Add messages to the record (`--record`), if there is one."""
        # Written before the state file can move the received cursor past
        # these messages, so a crash never leaves the cursor ahead of the record.
        record = self._record
        if record is None or not messages:
            return
        for message in messages:
            record.write(json.dumps({"c": conversation_id, "id": message.id}) + "\n")
        record.flush()
