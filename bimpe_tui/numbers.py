"""Numbers that stay: each listed conversation keeps its number while it is listed.

The list re-sorts as conversations get news; numbers that followed the rows made
`1` open another conversation than a moment before. Here a conversation gets a
number once, the smallest one free, in the order the list first shows it, and
keeps it for the run and across restarts (the state file holds the numbers).

A number is freed when its conversation leaves the list (gone from the server's
list, or, at start, not on the first page of its agent's list any more): the
first complete listing of a run frees the numbers of conversations it does not
hold, so numbers do not grow without end over weeks. Pure: no I/O, no Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView, Mapping

__all__ = ["Numbers"]


class Numbers:
    """Conversation id to number, and back; numbers are positive and unique."""

    def __init__(self, saved: Mapping[str, int] | None = None) -> None:
        self._by_id: dict[str, int] = {}
        self._by_number: dict[int, str] = {}
        for conversation_id, number in (saved or {}).items():
            # A number taken twice (a hand-edited file) goes to the first holder.
            if number > 0 and number not in self._by_number:
                self._by_id[conversation_id] = number
                self._by_number[number] = conversation_id
        self._next = 1

    def __len__(self) -> int:
        return len(self._by_id)

    def of(self, conversation_id: str) -> int | None:
        """The conversation's number, if it has one."""
        return self._by_id.get(conversation_id)

    def conversation(self, number: int) -> str | None:
        """The conversation holding `number`, if any."""
        return self._by_number.get(number)

    def numbers_exactly(self, conversation_ids: KeysView[str]) -> bool:
        """Whether exactly these conversations are numbered (then `update` has nothing
        to do: a redraw asks, and needs no ordered list for it)."""
        return self._by_id.keys() == conversation_ids

    def as_dict(self) -> dict[str, int]:
        """Every number, by conversation id (what the state file saves)."""
        return dict(self._by_id)

    def update(self, listed: Iterable[str]) -> bool:
        """Free the numbers of conversations not `listed`; number the new ones, in order.

        `listed` is the whole list (not a filtered view of it), in the order it
        shows. Returns whether any number was given or freed.
        """
        order = list(dict.fromkeys(listed))
        present = set(order)
        changed = False
        for conversation_id in [c for c in self._by_id if c not in present]:
            del self._by_number[self._by_id.pop(conversation_id)]
            changed = True
        self._next = 1
        for conversation_id in order:
            if conversation_id not in self._by_id:
                number = self._free()
                self._by_id[conversation_id] = number
                self._by_number[number] = conversation_id
                changed = True
        return changed

    def _free(self) -> int:
        # The smallest free number: a freed 3 is given again before 40 is.
        while self._next in self._by_number:
            self._next += 1
        return self._next
