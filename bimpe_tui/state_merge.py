"""Merging one copy's state with the state file another copy may have written meanwhile.

Two copies of the app on one state file used to overwrite each other: the
last to save won, and the other's watched conversations and read positions
were gone. Each save now merges with what is on disk, three ways:

- `mine`: this copy's state as it was when it last read or wrote the file;
- `written`: the file as this copy last read or wrote it;
- `ours`: this copy's state now; `disk`: the file now.

For each value (a conversation's received cursor, its seen cursor, whether
it is watched, which one is open): if this copy did not change it since
(`ours == mine`), the file's value stays, whoever put it there; if only this
copy changed it (`disk == written`), ours is written; if both did, the one
furthest along wins for cursors (by the message's time: ids are opaque, and
the demo's base-36 ids do not even sort), watching wins over not watching,
and this copy's choice of the open conversation wins.

So a copy's own moves stick, backwards ones too (`m`, mark unread, moves the
seen cursor back; an unwatch stops watching), where a plain union would undo
them at the other copy's next save; and nothing the other copy did is lost
unless this copy changed the same value. Pure functions: no I/O, no Textual.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .state_format import Cursor, ServerState

T = TypeVar("T")

#: A cursor's two parts, each a message id and that message's creation time.
Part = tuple[str | None, str | None]


def instant(text: str | None) -> datetime | None:
    """An ISO-8601 time as an aware datetime (naive ones taken as UTC); None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def further(ours: Part, disk: Part) -> Part:
    """Of two positions in one conversation, the one furthest along.

    Compared by the messages' times. When a time is missing or unreadable,
    or both are the same instant, nothing says which is further: ours is
    kept (what this copy knows first-hand).
    """
    ours_at, disk_at = instant(ours[1]), instant(disk[1])
    if ours[0] is None:
        return disk
    if disk[0] is None or ours_at is None or disk_at is None:
        return ours
    return disk if disk_at > ours_at else ours


def three_way(mine: T, written: T, ours: T, disk: T, *, both: T) -> T:
    """One value: the file's if we did not change it, ours if only we did, else `both`."""
    if ours == mine:
        return disk
    if disk == written:
        return ours
    return both


def _received(cursor: Cursor | None) -> Part:
    return (cursor.received, cursor.received_at) if cursor is not None else (None, None)


def _seen(cursor: Cursor | None) -> Part:
    return (cursor.seen, cursor.seen_at) if cursor is not None else (None, None)


def merge_cursor(
    mine: Cursor | None, written: Cursor | None, ours: Cursor | None, disk: Cursor | None
) -> Cursor | None:
    """One conversation's cursor, each part (received, seen) merged on its own."""
    if ours is None or disk is None:
        # Known to one side only: cursors are never deleted, so it is new there.
        return ours if ours is not None else disk
    parts = [
        three_way(get(mine), get(written), get(ours), get(disk), both=further(get(ours), get(disk)))
        for get in (_received, _seen)
    ]
    (received, received_at), (seen, seen_at) = parts
    return replace(ours, received=received, received_at=received_at, seen=seen, seen_at=seen_at)


def merge_server(
    mine: ServerState | None,
    written: ServerState | None,
    ours: ServerState | None,
    disk: ServerState | None,
) -> ServerState | None:
    """One server's state: cursors, watched conversations, the open one, the numbers."""
    if ours is None or disk is None:
        return ours if ours is not None else disk
    cursors = {}
    for conversation_id in [*ours.cursors, *(c for c in disk.cursors if c not in ours.cursors)]:
        merged = merge_cursor(
            mine.cursors.get(conversation_id) if mine is not None else None,
            written.cursors.get(conversation_id) if written is not None else None,
            ours.cursors.get(conversation_id),
            disk.cursors.get(conversation_id),
        )
        if merged is not None:
            cursors[conversation_id] = merged

    def watched_in(state: ServerState | None, conversation_id: str) -> bool:
        return state is not None and conversation_id in state.watched

    watched = []
    for conversation_id in [*ours.watched, *(c for c in disk.watched if c not in ours.watched)]:
        keep = three_way(
            watched_in(mine, conversation_id),
            watched_in(written, conversation_id),
            conversation_id in ours.watched,
            conversation_id in disk.watched,
            # Changed both ways at once: watching loses nothing.
            both=True,
        )
        if keep and conversation_id in cursors and conversation_id not in watched:
            watched.append(conversation_id)
    selected, peeking = three_way(
        (mine.selected, mine.peeking) if mine is not None else (None, False),
        (written.selected, written.peeking) if written is not None else (None, False),
        (ours.selected, ours.peeking),
        (disk.selected, disk.peeking),
        both=(ours.selected, ours.peeking),
    )
    numbers = merge_numbers(
        mine.numbers if mine is not None else {},
        written.numbers if written is not None else {},
        ours.numbers,
        disk.numbers,
    )
    return replace(
        ours,
        cursors=cursors,
        watched=watched,
        selected=selected,
        peeking=peeking,
        numbers=numbers,
    )


def merge_numbers(
    mine: dict[str, int], written: dict[str, int], ours: dict[str, int], disk: dict[str, int]
) -> dict[str, int]:
    """Each conversation's number, three ways; a number both copies gave stays ours.

    Two copies number new conversations on their own, so both may give the same
    free number to different ones: this copy's holder keeps it, and the other
    conversation is numbered again (the next free number) when it is next listed.
    """
    merged: dict[str, int] = {}
    for conversation_id in [*ours, *(c for c in disk if c not in ours)]:
        number = three_way(
            mine.get(conversation_id),
            written.get(conversation_id),
            ours.get(conversation_id),
            disk.get(conversation_id),
            both=ours.get(conversation_id),
        )
        if number is not None:
            merged[conversation_id] = number
    holders = {number: c for c, number in merged.items() if ours.get(c) == number}
    return {c: number for c, number in merged.items() if holders.setdefault(number, c) == c}


def merge_servers(
    mine: dict[str, ServerState],
    written: dict[str, ServerState],
    ours: dict[str, ServerState],
    disk: dict[str, ServerState],
) -> dict[str, ServerState]:
    """Every server's state, merged (see the module's docstring)."""
    merged = {}
    for key in [*ours, *(k for k in disk if k not in ours)]:
        state = merge_server(mine.get(key), written.get(key), ours.get(key), disk.get(key))
        if state is not None:
            merged[key] = state
    return merged
