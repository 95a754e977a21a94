"""What the fuzz tests (hypothesis's in tests/engine/test_fuzz.py, and the atheris
target tests/hostile_fuzz_target.py) both ask of the message model."""

from __future__ import annotations

from bimpe_tui.api.models import Message, ModelError


def modelled(raw: object) -> Message | None:
    """`raw` made a Message, or None where the model refuses it with a ModelError (the
    one refusal allowed). Every text of a Message made must encode as UTF-8: it goes
    into URLs, the state file and the terminal, where a lone surrogate would not."""
    try:
        message = Message.from_api(raw)
    except ModelError:
        return None
    for text in (message.id, message.role, message.created_at, message.message or ""):
        text.encode("utf-8")
    return message
