"""What a message's role is to a person: the customer, the agent (the AI), staff, other.

The API's roles are `user`, `assistant`, `restaurant_user` and `customer`, and
any other may come; the log's filter (`@customer`) and the waits (who answered)
both ask this one question.
"""

from __future__ import annotations

from .render import ROLES

__all__ = ["ROLE_NAMES", "role_name"]

#: The names a role goes by, as the log's filter takes them (`@staff`).
ROLE_NAMES = ("customer", "agent", "staff", "other")


def role_name(role: str) -> str:
    """A message role's name: customer, agent, staff, or other."""
    known = ROLES.get(role)
    if known is None:
        return "other"
    label = known[0]
    return "customer" if label == "user" else label
