"""Acting on what you watch: take over, hand back, reply. No Textual (a test checks).

The shell asks; this decides whether it may, talks to the server, and keeps
what must survive a failure: the draft of each conversation and the
Idempotency-Key of a send whose answer never came, so that sending the same
text again cannot make a second message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from .api.client import new_idempotency_key
from .api.errors import BimpeError, PermissionDeniedError
from .book import Entry, Pending
from .monitor import Appended, ListChanged, Monitor, TimelineReplaced

#: What the user is told when the key turns out to be read-only.
READ_ONLY_KEY = "this key can only read: taking over and replying are off for this run"
#: ...and when the run is read-only by choice.
READ_ONLY_RUN = "read-only (--read-only or read_only = true): taking over and replying are off"

Holder = Literal["you", "taken", "AI"]


@dataclass(slots=True)
class Draft:
    """Text typed for one conversation and not sent yet.

    `key` is the Idempotency-Key of a failed send of exactly this text: sent
    again unchanged, it goes with the same key (the server may have stored
    the first one after all); edited, it is a new message with a new key.
    """

    text: str = ""
    key: str | None = None
    sent_text: str | None = None

    def key_for(self, text: str) -> str:
        """The key to send `text` with."""
        if self.key is not None and text == self.sent_text:
            return self.key
        return new_idempotency_key()


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an action went, in words for the user."""

    ok: bool
    text: str


class Operator:
    """Take over, hand back and reply on the monitor's conversations."""

    def __init__(self, monitor: Monitor, *, read_only: bool = False) -> None:
        self.monitor = monitor
        self.read_only = read_only
        #: A write was refused with `insufficient_scope`: actions stay off this run.
        self.scope_denied = False
        self.drafts: dict[str, Draft] = {}
        self._first_send_confirmed = False

    @property
    def refusal(self) -> str | None:
        """Why acting is off this run, or None. The one guard: every action, key,
        command and help row derives from it (`can_act`)."""
        if self.read_only:
            return READ_ONLY_RUN
        if self.scope_denied:
            return READ_ONLY_KEY
        return None

    @property
    def can_act(self) -> bool:
        """Whether actions are offered at all."""
        return self.refusal is None

    @property
    def needs_send_confirmation(self) -> bool:
        """The first send of a run to a real (non-demo) server asks first."""
        return not self.monitor.on_demo and not self._first_send_confirmed

    def confirm_sending(self) -> None:
        """The user confirmed the first send of this run."""
        self._first_send_confirmed = True

    def holder(self, entry: Entry) -> Holder:
        """Who has the conversation, by the server's flag: you (taken over this run),
        someone else (paused, not by you in this run: "taken"), or the AI."""
        if not entry.conversation.is_ai_chat_paused:
            return "AI"
        return "you" if entry.yours else "taken"

    def draft(self, conversation_id: str) -> Draft:
        """The conversation's draft (created empty)."""
        return self.drafts.setdefault(conversation_id, Draft())

    def _refused(self, error: BimpeError) -> Outcome | None:
        if isinstance(error, PermissionDeniedError) and error.code == "insufficient_scope":
            self.scope_denied = True
            self.monitor.emit(ListChanged())
            return Outcome(False, READ_ONLY_KEY)
        return None

    async def set_ai(self, conversation_id: str, paused: bool) -> Outcome:
        """Pause (take over) or resume (hand back) the AI; shown only once the server says so."""
        monitor = self.monitor
        entry = monitor.book.get(conversation_id)
        if not self.can_act or entry is None or monitor.client is None:
            return Outcome(False, "nothing to act on")
        try:
            answer = await monitor.client.set_ai_status(entry.agent.id, conversation_id, paused)
        except BimpeError as error:
            verb = "take over" if paused else "hand back"
            return self._refused(error) or Outcome(False, f"could not {verb}: {error}")
        # The server's answer, not the request, is what the list and title show.
        entry.conversation = dataclasses.replace(entry.conversation, is_ai_chat_paused=answer)
        entry.yours = answer
        monitor.emit(ListChanged())
        if answer != paused:
            return Outcome(False, "the server left the AI " + ("paused" if answer else "running"))
        return Outcome(True, "you have it: the AI is paused" if answer else "handed back to the AI")

    def start_send(self, conversation_id: str, text: str) -> Pending | None:
        """Show `text` as "sending…" in the timeline; None if there is nothing to send."""
        entry = self.monitor.book.get(conversation_id)
        if not self.can_act or entry is None or not text.strip():
            return None
        draft = self.draft(conversation_id)
        pending = Pending(key=draft.key_for(text), text=text)
        # The text now lives in the pending item; a failure puts it back.
        self.drafts[conversation_id] = Draft(key=pending.key, sent_text=text)
        entry.timeline.add_pending(pending)
        self.monitor.emit(Appended(conversation_id, [pending]))
        return pending

    async def finish_send(self, conversation_id: str, pending: Pending) -> Outcome:
        """POST the pending message (the client retries with its key); settle the item."""
        monitor = self.monitor
        entry = monitor.book.get(conversation_id)
        if entry is None or monitor.client is None:
            return Outcome(False, "nothing to act on")
        try:
            sent = await monitor.client.send_message(
                entry.agent.id, conversation_id, pending.text, idempotency_key=pending.key
            )
        except BimpeError as error:
            entry.timeline.settle_pending(pending, None)
            draft = self.draft(conversation_id)
            if not draft.text:
                draft.text = pending.text
            monitor.emit(TimelineReplaced(conversation_id, keep_place=True))
            return self._refused(error) or Outcome(False, f"not sent: {error}")
        # The answer takes the "sending…" item's place at once: no placeholder
        # waits on the stream, whose copy of this id is then a repeat.
        entry.timeline.settle_pending(pending, sent)
        draft = self.draft(conversation_id)
        if draft.sent_text == pending.text:
            draft.key = draft.sent_text = None
        monitor.emit(TimelineReplaced(conversation_id, keep_place=True))
        await self._reread(entry)
        return Outcome(True, "sent")

    async def _reread(self, entry: Entry) -> None:
        """The conversation's flags as the server has them now (a reply may settle
        `needs_attention`), without waiting for the next refresh of the list."""
        client = self.monitor.client
        if client is None:
            return
        try:
            entry.conversation = await client.get_conversation(entry.agent.id, entry.id)
        except BimpeError:
            return  # the next refresh of the list brings them anyway
        self.monitor.emit(ListChanged())
