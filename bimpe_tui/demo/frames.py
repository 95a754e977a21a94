"""The stream frame encoder: messages as the JSON a stream frame carries, fast.

A backlog replay encodes hundreds of thousands of messages, so a regular's are built
by hand from cached parts; the result is byte for byte what :func:`dumps` gives for
:meth:`~bimpe_tui.demo.messages.DemoMessage.to_stream`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from json.encoder import encode_basestring as _encode_json_str

from bimpe_tui.demo.clock import ANCHOR_MS, MILLIS, SECONDS, minute_prefix
from bimpe_tui.demo.conv import Conv
from bimpe_tui.demo.ids import B36_PAIRS, b36
from bimpe_tui.demo.messages import build_message, exchange_of

__all__ = ["dumps", "stream_payloads"]


def dumps(obj: object) -> str:
    """Compact JSON that keeps non-ASCII text as is, as the service writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def stream_payloads(conv: Conv, start: int, stop: int) -> Iterator[tuple[str, str]]:
    """``(id, JSON)`` for messages ``start <= index < stop`` of ``conv``."""
    if conv.life is not None:
        # At most a few hundred messages, so the plain path is fast enough, and the
        # regulars' loop below stays free of newcomer checks.
        for index in range(max(0, start), stop):
            message = build_message(conv, index)
            yield message.id, dumps(message.to_stream())
        return
    id_head = f"m_{conv.suffix}_"
    conv_part = f'","conversation_id":"{conv.id}","role":"'
    time_key = conv.time_key
    period = conv.period_ms
    first_ms = ANCHOR_MS + conv.phase_ms
    jitter_span = conv.jitter_span
    blake2b = hashlib.blake2b
    cached_minute = -1
    prefix = ""
    cached_no = -1
    cached_high = -1
    high_digits = ""
    turns: tuple[tuple[str, str, str], tuple[str, str, str]] = (("", "", ""), ("", "", ""))
    for index in range(max(0, start), stop):
        exchange_no, part = divmod(index, 2)
        if exchange_no != cached_no:
            cached_no = exchange_no
            exchange, values = exchange_of(conv, exchange_no)
            turns = (
                (
                    "customer",
                    _encode_json_str(exchange.customer.format_map(values)),
                    exchange.customer_attachment or "text",
                ),
                (
                    exchange.reply_role,
                    _encode_json_str(exchange.reply.format_map(values)),
                    exchange.reply_attachment or "text",
                ),
            )
        role, text, message_type = turns[part]
        # Consecutive ids share all but their last two base-36 digits.
        high, low = divmod(index, 1296)
        if high != cached_high:
            cached_high = high
            high_digits = b36(high) if high else ""
        msg_id = id_head + (high_digits + B36_PAIRS[low] if high else b36(low))
        # Inlined time_ms and iso_from_ms: this loop is the replay hot path.
        created_ms = first_ms + index * period
        if jitter_span:
            digest = blake2b(time_key + b"%d" % index, digest_size=8).digest()
            created_ms += (int.from_bytes(digest, "big") * jitter_span) // (10 << 64)
        minute, rem = divmod(created_ms, 60_000)
        if minute != cached_minute:
            cached_minute = minute
            prefix = minute_prefix(minute)
        secs, milli = divmod(rem, 1000)
        created = prefix + SECONDS[secs] + MILLIS[milli]
        yield (
            msg_id,
            f'{{"id":"{msg_id}{conv_part}{role}","message":{text},'
            f'"message_type":"{message_type}","created_at":"{created}"}}',
        )
