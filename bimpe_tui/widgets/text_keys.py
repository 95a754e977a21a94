"""Text boxes that apply keys in the order they were typed.

Textual 8.2.8 inserts a printable key where it arrives, in the box, but runs
an editing key (backspace, delete, ctrl+u...) only once the key has gone up
the DOM to the app, which then looks up the box's bindings. Keys that arrive
in one terminal read reach the box together, so `abc` then the read `7f x`
becomes `abcx` and then `abc`: the letter went in before the backspace typed
first. Running the box's own bindings where the key arrives keeps the order.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run `widget`'s own binding for `event` now, in its place among the keys; True if
    there was one (the key is then used up)."""
    for binding in widget._bindings.key_to_bindings.get(event.key, ()):
        if binding.priority:
            continue  # already run by the app before the key reached the box
        if widget.check_action(binding.action, ()) is False:
            continue
        event.stop()
        event.prevent_default()
        await widget.app.run_action(binding.action, widget)
        return True
    return False


class OrderedInput(Input):
    """An `Input` whose editing keys and letters are applied in the order typed."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_binding(self, event):
            return
        await super()._on_key(event)
