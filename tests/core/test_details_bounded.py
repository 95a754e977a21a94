"""The live messages' detail fetcher remembers a bounded number of ids."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from bimpe_tui import details
from bimpe_tui.api.models import Message
from bimpe_tui.details import DetailFetcher


def image(number: int) -> Message:
    return Message.from_api(
        {
            "id": f"m_{number}",
            "role": "customer",
            "message": "photo",
            "message_type": "image",
            "created_at": "2026-12-07T10:00:00Z",
        }
    )


def test_the_ids_asked_for_stay_bounded_and_each_is_asked_once_while_remembered(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(details, "MAX_REMEMBERED", 5)
    spawned: list[Coroutine[Any, Any, None]] = []

    async def fetch(agent: str, conversation: str, message_id: str) -> Message:
        raise AssertionError("not run: the test only counts what is queued")

    fetcher = DetailFetcher(fetch, spawned.append, lambda c, m: None)
    fetcher.want("ag", "c", [image(n) for n in range(12)])
    fetcher.want("ag", "c", [image(n) for n in range(7, 12)])  # remembered: not again
    assert len(fetcher._asked) == 5
    for coroutine in spawned:
        coroutine.close()
    queued = len(spawned) + len(fetcher._waiting)
    assert queued == 12
