"""Keep secrets (the API key, stream tickets) out of anything shown or logged."""

from __future__ import annotations

import re

REDACTED = "***"

# Tickets and keys travel in query strings and may turn up in exception text
# from lower layers; these patterns catch them even when the value is unknown.
_TICKET_QUERY = re.compile(r"(ticket=)[^&\s'\"]+")
# ...and a server echoing its own answer may quote one as JSON.
_TICKET_JSON = re.compile(r"(\"ticket\"\s*:\s*\")[^\"]+")
_KEY_LIKE = re.compile(r"\bsk_[A-Za-z0-9_\-]{6,}")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(text: str, *secrets: str | None) -> str:
    """Return `text` with every known secret and anything shaped like one masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _TICKET_QUERY.sub(r"\1" + REDACTED, text)
    text = _TICKET_JSON.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    return _KEY_LIKE.sub(REDACTED, text)
