"""Acting on the open conversation: take over, hand back, reply, and the reply box.

What may be done, and the server's answers, are the `Operator`'s (no Textual);
this is the screen's side: the deliberate questions asked first, the reply
box opened and closed, a send kept to one at a time per conversation (the box
takes no second enter until the first is settled), and what is said after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..book import Entry, Pending
from ..render import one_line
from .confirm import ConfirmScreen, dialog_open, open_dialog
from .titles import channel_name

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["Acting"]


class Acting:
    """The screen's acting: questions, the reply box, one send at a time."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.monitor = screen.monitor
        self.operator = screen.operator
        #: The conversation the reply box is open for.
        self._compose_for: str | None = None
        #: Conversations with a send in flight (their box takes no second enter).
        self._sending: set[str] = set()
        #: Conversations someone else has that the user chose to reply to anyway.
        self._replying_anyway: set[str] = set()

    def opened(self, conversation_id: str) -> None:
        """Another conversation was opened: the reply box closes, keeping its draft."""
        if self._compose_for not in (None, conversation_id):
            self.close_compose()

    def may_act(self) -> Entry | None:
        """The open conversation, if acting on it is allowed now; else says why not."""
        refusal = self.operator.refusal
        if refusal is not None:
            self.screen.notify(refusal, severity="warning", markup=False)
            return None
        if dialog_open(self.screen.app):
            return None  # one question at a time: this key was typed ahead of it
        return self.screen.open_entry()

    def refresh_title(self) -> None:
        entry = self.screen.open_entry()
        if entry is not None:
            self.screen.log_view.border_title = self.screen.title_of(entry)
        self.screen.refresh_bindings()

    def acted(self, ok: bool, text: str) -> None:
        self.screen.notify(text, severity="information" if ok else "error", markup=False)
        self.refresh_title()
        if not self.operator.can_act:
            self.close_compose()

    def take_over(self) -> None:
        """Pause the open conversation's AI (you have it), once confirmed."""
        entry = self.may_act()
        if entry is None:
            return
        c = entry.conversation
        conversation_id = entry.id
        if c.is_ai_chat_paused and entry.yours:
            self.screen.notify("you have it already", markup=False)
            return

        def chosen(choice: str | None) -> None:
            if choice == "take-over":
                self._set_ai(conversation_id, True)

        already = " Its AI is paused already (by someone else)." if c.is_ai_chat_paused else ""
        self._ask(
            "Take over?",
            f"Pause the AI for {one_line(c.who, 40)} on {channel_name(c.channel_type)}: it stops "
            f"answering until you hand back.{already}",
            [("take-over", "Take over"), ("cancel", "Cancel")],
            chosen,
        )

    def hand_back(self) -> None:
        """Resume the open conversation's AI, once confirmed."""
        entry = self.may_act()
        if entry is None:
            return
        c = entry.conversation
        conversation_id = entry.id
        if not c.is_ai_chat_paused:
            self.screen.notify("the AI has it already", markup=False)
            return

        def chosen(choice: str | None) -> None:
            if choice == "hand-back":
                self._set_ai(conversation_id, False)

        self._ask(
            "Hand back?",
            f"Resume the AI for {one_line(c.who, 40)} on {channel_name(c.channel_type)}: it "
            "answers the customer again.",
            [("hand-back", "Hand back to the AI"), ("cancel", "Cancel")],
            chosen,
        )

    def _ask(
        self,
        title: str,
        question: str,
        choices: list[tuple[str, str]],
        chosen: Callable[[str | None], None],
    ) -> bool:
        """A deliberate question (nothing chosen until the user moves to a choice)."""
        return open_dialog(
            self.screen.app, ConfirmScreen(title, question, choices, deliberate=True), chosen
        )

    def _set_ai(self, conversation_id: str, paused: bool, then_reply: bool = False) -> None:
        self.screen.run_worker(
            self._set_ai_now(conversation_id, paused, then_reply), group="act", exit_on_error=False
        )

    async def _set_ai_now(self, conversation_id: str, paused: bool, then_reply: bool) -> None:
        outcome = await self.operator.set_ai(conversation_id, paused)
        self.acted(outcome.ok, outcome.text)
        if then_reply and outcome.ok and self.monitor.current == conversation_id:
            self.open_compose(conversation_id)

    def reply(self) -> None:
        """Open the reply box; on a conversation the AI is answering, ask first."""
        entry = self.may_act()
        if entry is None:
            return
        c = entry.conversation
        conversation_id = entry.id
        if c.is_ai_chat_paused and (entry.yours or conversation_id in self._replying_anyway):
            self.open_compose(conversation_id)
            return
        if c.is_ai_chat_paused:
            # Someone else has it: two people answering one customer is asked first.

            def anyway(choice: str | None) -> None:
                if choice == "reply":
                    self._replying_anyway.add(conversation_id)
                    self.open_compose(conversation_id)

            self._ask(
                "Someone else has it",
                f"The AI for {one_line(c.who, 40)} on {channel_name(c.channel_type)} was paused, "
                "not by you in this run: someone else may be answering. Reply anyway?",
                [("reply", "Reply anyway"), ("cancel", "Cancel")],
                anyway,
            )
            return

        def chosen(choice: str | None) -> None:
            if choice == "take-over":
                self._set_ai(conversation_id, True, then_reply=True)
            elif choice == "reply":
                self.open_compose(conversation_id)

        self._ask(
            "The AI is answering",
            f"The AI is answering {one_line(c.who, 40)} on {channel_name(c.channel_type)}. "
            "Pause it (take over) before you reply?",
            [
                ("take-over", "Take over and reply"),
                ("reply", "Reply alongside the AI"),
                ("cancel", "Cancel"),
            ],
            chosen,
        )

    def open_compose(self, conversation_id: str) -> None:
        if self.monitor.current != conversation_id or not self.operator.can_act:
            return
        box = self.screen.compose_box
        if self._compose_for != conversation_id:
            box.text = self.operator.draft(conversation_id).text
            box.busy = conversation_id in self._sending
        self._compose_for = conversation_id
        box.add_class("-open")
        box.call_after_refresh(box.lift_toasts)
        self.screen.pane = "log"
        # At once: keys typed right after `c` belong in the box.
        self.screen.set_focus(box)

    def close_compose(self) -> None:
        conversation_id = self._compose_for
        if conversation_id is None:
            return
        box = self.screen.compose_box
        self.operator.draft(conversation_id).text = box.text
        self._compose_for = None
        box.remove_class("-open")
        box.lift_toasts()
        if box.has_focus:
            self.screen.set_focus(self.screen.log_view.lines)

    def compose_send(self, text: str) -> None:
        """Send the box's text once: the box takes no other enter until this one is
        settled (sent, refused or cancelled; see `_settled`)."""
        conversation_id = self._compose_for
        entry = self.monitor.book.get(conversation_id) if conversation_id else None
        if entry is None or conversation_id is None:
            self._settled(conversation_id)
            return
        if conversation_id in self._sending:
            return  # its send is still on its way: the box says so
        if not self.operator.needs_send_confirmation:
            self._send(conversation_id, text)
            return
        c = entry.conversation

        def chosen(choice: str | None) -> None:
            if choice == "send":
                self.operator.confirm_sending()
                self._send(conversation_id, text)
            else:
                self._settled(conversation_id)

        host = self.monitor.base_url.split("://", 1)[-1]
        if not self._ask(
            "Send to a customer?",
            f"This message goes to {one_line(c.who, 40)} on {channel_name(c.channel_type)} "
            f"({one_line(entry.agent.name, 40)}) through {one_line(host, 60)}. "
            "This is asked once per run.",
            [("send", "Send"), ("cancel", "Cancel")],
            chosen,
        ):
            self._settled(conversation_id)

    def _send(self, conversation_id: str, text: str) -> None:
        pending = self.operator.start_send(conversation_id, text)
        if pending is None:
            self._settled(conversation_id)
            return
        self._sending.add(conversation_id)
        if self._compose_for == conversation_id:
            # Only what is sent leaves the box: text typed after the enter (while
            # this was asked or queued) stays for the next message.
            box = self.screen.compose_box
            box.text = box.text.removeprefix(text) if box.text.startswith(text) else box.text
        self._finish_send(conversation_id, pending)

    def _settled(self, conversation_id: str | None) -> None:
        """The box's send is over (or never started): enter sends again."""
        if conversation_id is not None:
            self._sending.discard(conversation_id)
        if conversation_id is None or self._compose_for == conversation_id:
            self.screen.compose_box.busy = False

    def _finish_send(self, conversation_id: str, pending: Pending) -> None:
        self.screen.run_worker(
            self._finish_send_now(conversation_id, pending), group="act", exit_on_error=False
        )

    async def _finish_send_now(self, conversation_id: str, pending: Pending) -> None:
        try:
            outcome = await self.operator.finish_send(conversation_id, pending)
        finally:
            self._settled(conversation_id)
        if not outcome.ok:
            draft = self.operator.draft(conversation_id)
            if self._compose_for == conversation_id and not self.screen.compose_box.text.strip():
                # The text comes back where it was typed, to be sent again or edited.
                self.screen.compose_box.text = draft.text
            self.acted(False, outcome.text)
