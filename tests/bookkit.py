"""Book entries made by hand, for tests that need one without a server."""

from __future__ import annotations

from typing import Any

from bimpe_tui.api.models import Agent, Conversation
from bimpe_tui.book import Entry


def bare_entry(conversation_id: str = "c_1", **entry: Any) -> Entry:
    """A webchat conversation of agent `ag_1`, needing nothing; `entry` sets Entry fields."""
    agent = Agent.from_api({"id": "ag_1", "name": "A", "created_at": "", "updated_at": ""})
    conversation = Conversation.from_api(
        {
            "id": conversation_id,
            "channel_type": "webchat",
            "is_test_channel": False,
            "is_ai_chat_paused": False,
            "needs_attention": False,
            "created_at": "",
            "updated_at": "",
        }
    )
    return Entry(agent, conversation, **entry)
