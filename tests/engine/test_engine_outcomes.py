"""The stream engine's outcome table, row by row, with no network and no clock."""

from __future__ import annotations

import json
import ssl
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from bimpe_tui.api.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MalformedResponseError,
    error_from_response,
)
from bimpe_tui.api.outcomes import Attempt, Outcome, classify
from bimpe_tui.api.retry import MAX_RETRY_AFTER

KEY = "sk_outcome_test_key_1234567"
TICKET = "tk_outcome_ticket_abcdef"
WHEN = "2026-11-23T10:00:00.000Z"

KEY_TO_HOST = ConnectionKey("api.example", 443, True, True, None, None, None, None)


def refused() -> aiohttp.ClientConnectorError:
    """What aiohttp raises when nothing listens on the port."""
    return aiohttp.ClientConnectorError(KEY_TO_HOST, OSError(111, "Connection refused"))


BASE = Attempt(
    phase="stream",
    cursor=None,
    reconnect=True,
    failures=0,
    max_retries=5,
    read_timeout=45.0,
    base_delay=0.5,
    max_delay=8.0,
    jitter=0.5,
    secrets=(KEY, TICKET),
)


def http_error(status: int, message: str = "nope", code: str = "x", **headers: str) -> APIError:
    body = json.dumps({"message": message, "code": code}).encode()
    return error_from_response(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def at(**changes: Any) -> Attempt:
    return replace(BASE, **changes)


# Each row: (failure, attempt) -> the outcome expected, exactly.
ROWS: dict[str, tuple[BaseException | None, Attempt, Outcome]] = {
    "ticket 401: the key is refused": (
        http_error(401, "API key is invalid", "api_key_invalid"),
        at(phase="ticket"),
        Outcome(
            "give_up",
            "the API key was refused (HTTP 401 api_key_invalid: API key is invalid)",
            0,
        ),
    ),
    "ticket 403: the key is refused": (
        http_error(403, f"key {KEY} lacks scope", "insufficient_scope"),
        at(phase="ticket", failures=2),
        Outcome(
            "give_up",
            "the API key was refused (HTTP 403 insufficient_scope: key *** lacks scope)",
            2,
        ),
    ),
    "ticket 404: conversation not found": (
        http_error(404, "no such conversation", "not_found"),
        at(phase="ticket", cursor="m_1"),
        Outcome("give_up", "conversation not found", 0),
    ),
    "ticket 429: retry after Retry-After": (
        http_error(429, "slow", "rate_limited", retry_after="2"),
        at(phase="ticket"),
        Outcome("retry", "rate limited (429)", 1, delay=2.0),
    ),
    "ticket 429: Retry-After capped at 60 s": (
        http_error(429, "slow", "rate_limited", retry_after="3600"),
        at(phase="ticket"),
        Outcome("retry", "rate limited (429)", 1, delay=MAX_RETRY_AFTER),
    ),
    "ticket 503: retry with full jitter": (
        http_error(503, "down", "internal_error"),
        at(phase="ticket", failures=2, jitter=0.25),
        Outcome("retry", "HTTP 503 internal_error: down", 3, delay=0.25 * 2.0),
    ),
    "ticket call timed out: retry": (
        APITimeoutError("POST /stream-ticket: no answer in time"),
        at(phase="ticket"),
        Outcome("retry", "POST /stream-ticket: no answer in time", 1, delay=0.25),
    ),
    "ticket 400 naming after: not a resume point, give up": (
        http_error(400, "after: bad", "bad_request"),
        at(phase="ticket", cursor="m_1"),
        Outcome("give_up", "HTTP 400 bad_request: after: bad", 0),
    ),
    "stream 401: refresh the ticket": (
        http_error(401, "invalid ticket", "unauthorized"),
        at(),
        Outcome("refresh_ticket", "stream ticket refused (401)", 1, delay=0.25),
    ),
    "stream 403: refresh the ticket": (
        http_error(403, "expired", "forbidden"),
        at(failures=1, jitter=0.0),
        Outcome("refresh_ticket", "stream ticket refused (403)", 2, delay=0.0),
    ),
    "stream 429: Retry-After capped at 60 s": (
        http_error(429, "slow", "too_many_requests", retry_after="86400"),
        at(),
        Outcome("retry", "rate limited (429)", 1, delay=MAX_RETRY_AFTER),
    ),
    "stream 429 without Retry-After: the upper half of the window": (
        http_error(429, "slow", "too_many_requests"),
        at(failures=4, jitter=0.5),
        Outcome("retry", "rate limited (429)", 5, delay=0.75 * 8.0),
    ),
    "ticket 429 with Retry-After 0: the back-off, not 0": (
        http_error(429, "slow", "rate_limited", retry_after="0"),
        at(phase="ticket", failures=2, jitter=0.0),
        Outcome("retry", "rate limited (429)", 3, delay=0.5 * 2.0),
    ),
    "a Retry-After under the back-off waits the back-off": (
        http_error(429, "slow", "rate_limited", retry_after="1"),
        at(failures=3, jitter=1.0),
        Outcome("retry", "rate limited (429)", 4, delay=4.0),
    ),
    "429 past the budget: retry at the capped window, the count stops": (
        http_error(429, "slow", "rate_limited", retry_after="0"),
        at(failures=5, jitter=0.0),
        Outcome("retry", "rate limited (429)", 5, delay=4.0),
    ),
    "429 without reconnect: give up": (
        http_error(429, "slow", "rate_limited", retry_after="0"),
        at(reconnect=False),
        Outcome("give_up", "rate limited (429)", 1),
    ),
    "stream 414 after an id: the cursor was too long, fall back to its time": (
        error_from_response(414, b"", {}),
        at(cursor="m_1", cursor_time=WHEN),
        Outcome(
            "fall_back",
            f"the server could not resume after message m_1; resuming from its time {WHEN}",
            0,
            cursor=WHEN,
            rejected="m_1",
        ),
    ),
    "stream 400 with no words after an id: fall back to its time": (
        error_from_response(400, b"Bad Request", {}),
        at(cursor="m_1", cursor_time=WHEN),
        Outcome(
            "fall_back",
            f"the server could not resume after message m_1; resuming from its time {WHEN}",
            0,
            cursor=WHEN,
            rejected="m_1",
        ),
    ),
    "stream 400 with no words and no cursor: give up, said once": (
        error_from_response(400, b"", {}),
        at(),
        Outcome("give_up", "HTTP 400", 0),
    ),
    "stream 410 after an id whose time is known: fall back to it": (
        http_error(410, "gone", "not_found"),
        at(cursor="m_7", cursor_time=WHEN),
        Outcome(
            "fall_back",
            f"the server could not resume after message m_7; resuming from its time {WHEN}",
            0,
            cursor=WHEN,
            rejected="m_7",
        ),
    ),
    "stream 404 naming after, time unknown: look it up": (
        http_error(404, "after: unknown message id", "not_found"),
        at(cursor="m_7", failures=3),
        Outcome("look_up", "", 3, rejected="m_7"),
    ),
    "stream 400 naming after, time not a timestamp: look it up": (
        http_error(400, "After is invalid", "bad_request"),
        at(cursor="m_7", cursor_time="yesterday"),
        Outcome("look_up", "", 0, rejected="m_7"),
    ),
    "stream 410, looked up and found: fall back": (
        http_error(410, "gone", "not_found"),
        at(cursor="m_7", cursor_time=WHEN, looked_up=True),
        Outcome(
            "fall_back",
            f"the server could not resume after message m_7; resuming from its time {WHEN}",
            0,
            cursor=WHEN,
            rejected="m_7",
        ),
    ),
    "stream 410, looked up and not found: continue live": (
        http_error(410, "gone", "not_found"),
        at(cursor="m_7", looked_up=True),
        Outcome(
            "continue_live",
            "the server could not resume after m_7; continuing live",
            0,
            rejected="m_7",
        ),
    ),
    "stream 410 after a time: continue live": (
        http_error(410, "gone", "not_found"),
        at(cursor=WHEN, cursor_time=WHEN),
        Outcome(
            "continue_live",
            f"the server could not resume after {WHEN}; continuing live",
            0,
            rejected=WHEN,
        ),
    ),
    "stream 404 not about after: conversation not found": (
        http_error(404, "conversation not found", "not_found"),
        at(cursor="m_7"),
        Outcome("give_up", "conversation not found", 0),
    ),
    "stream 404 without a resume point: conversation not found": (
        http_error(404, "after: what?", "not_found"),
        at(cursor=None),
        Outcome("give_up", "conversation not found", 0),
    ),
    "stream 400 not about after: give up with it": (
        http_error(400, f"bad ticket {TICKET}", "bad_request"),
        at(cursor="m_7"),
        Outcome("give_up", "HTTP 400 bad_request: bad ticket ***", 0),
    ),
    "stream 410 without a resume point: give up with it": (
        http_error(410, "gone", "not_found"),
        at(),
        Outcome("give_up", "HTTP 410 not_found: gone", 0),
    ),
    "stream 409: give up": (
        http_error(409, "conflict", "conflict"),
        at(failures=1),
        Outcome("give_up", "HTTP 409 conflict: conflict", 1),
    ),
    "stream 501: give up": (
        http_error(501, "no", "not_implemented"),
        at(),
        Outcome("give_up", "HTTP 501 not_implemented: no", 0),
    ),
    "stream 3xx: give up": (
        APIError("the stream redirected to elsewhere; not followed", status=307),
        at(),
        Outcome("give_up", "HTTP 307: the stream redirected to elsewhere; not followed", 0),
    ),
    "stream 418: give up": (
        http_error(418, "teapot", "bad_request"),
        at(),
        Outcome("give_up", "HTTP 418 bad_request: teapot", 0),
    ),
    "stream 408: retry": (
        http_error(408, "slow", "x"),
        at(),
        Outcome("retry", "HTTP 408 x: slow", 1, delay=0.25),
    ),
    "stream 502: retry": (
        http_error(502, "bad gateway", "internal_error"),
        at(failures=1),
        Outcome("retry", "HTTP 502 internal_error: bad gateway", 2, delay=0.5),
    ),
    "stream answered HTML: give up": (
        MalformedResponseError(
            "stream answered with content type 'text/html'", status=200, body=b"<html>"
        ),
        at(),
        Outcome(
            "give_up",
            "stream answered with content type 'text/html' (HTTP 200): '<html>'",
            0,
        ),
    ),
    "a 5xx HTML page: give up (a body that is not what was asked)": (
        MalformedResponseError("answer is not JSON", status=502, body=b"<html>"),
        at(phase="ticket"),
        Outcome("give_up", "answer is not JSON (HTTP 502): '<html>'", 0),
    ),
    "connection error on the ticket call: retry": (
        APIConnectionError("POST /x: cannot connect"),
        at(phase="ticket"),
        Outcome("retry", "POST /x: cannot connect", 1, delay=0.25),
    ),
    "no byte in read_timeout: stalled, then retry": (
        aiohttp.SocketTimeoutError("timed out"),
        at(read_timeout=0.3),
        Outcome("retry", "no data for 0.3 s", 1, delay=0.25, stalled=True),
    ),
    "connection cut mid-message: retry": (
        aiohttp.ClientPayloadError("Response payload is not completed"),
        at(),
        Outcome("retry", "connection lost mid-message", 1, delay=0.25),
    ),
    "connection refused: retry": (
        refused(),
        at(),
        Outcome("retry", "cannot reach api.example:443 (connection refused)", 1, delay=0.25),
    ),
    "the server closed before answering: retry": (
        aiohttp.ServerDisconnectedError(),
        at(),
        Outcome("retry", "connection lost mid-message", 1, delay=0.25),
    ),
    "a certificate this machine does not trust: said so, not a timeout": (
        aiohttp.ClientConnectorCertificateError(
            KEY_TO_HOST, ssl.SSLCertVerificationError(1, "certificate verify failed")
        ),
        at(),
        Outcome("retry", "the server's TLS certificate is not trusted", 1, delay=0.25),
    ),
    "a TLS handshake that fails otherwise: said so": (
        aiohttp.ClientConnectorSSLError(KEY_TO_HOST, ssl.SSLError(1, "wrong version number")),
        at(),
        Outcome("retry", "TLS handshake failed", 1, delay=0.25),
    ),
    "a host name that does not resolve: said so": (
        aiohttp.ClientConnectorDNSError(KEY_TO_HOST, OSError(-2, "Name or service not known")),
        at(),
        Outcome("retry", "cannot reach api.example:443 (host name not found)", 1, delay=0.25),
    ),
    "the connection itself timed out: not a stall": (
        aiohttp.ConnectionTimeoutError("Connection timeout to host"),
        at(),
        Outcome("retry", "connection timed out", 1, delay=0.25),
    ),
    "the server ended the stream: retry": (
        None,
        at(),
        Outcome("retry", "the server closed the stream", 1, delay=0.25),
    ),
    "the server ended the stream, no reconnect: close": (
        None,
        at(reconnect=False),
        Outcome("close", "the server closed the stream", 0),
    ),
    "a failure without reconnect: give up": (
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        at(reconnect=False),
        Outcome("give_up", "connection reset", 1),
    ),
    "stalled without reconnect: stalled, then give up": (
        aiohttp.SocketTimeoutError("timed out"),
        at(reconnect=False),
        Outcome("give_up", "no data for 45 s", 1, stalled=True),
    ),
    "the last retry of the budget: retry": (
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        at(failures=4, jitter=0.5),
        Outcome("retry", "connection reset", 5, delay=4.0),
    ),
    "budget spent: give up saying so": (
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        at(failures=5),
        Outcome("give_up", "connection reset (after 5 retries)", 6),
    ),
    "budget spent on a ticket refresh: give up": (
        http_error(401, "invalid ticket", "unauthorized"),
        at(failures=2, max_retries=2),
        Outcome("give_up", "stream ticket refused (401) (after 2 retries)", 3),
    ),
    "budget spent while stalled: stalled, then give up": (
        aiohttp.SocketTimeoutError("timed out"),
        at(failures=1, max_retries=1, read_timeout=1),
        Outcome("give_up", "no data for 1 s (after 1 retries)", 2, stalled=True),
    ),
    "a long outage: the window stops at max_delay": (
        refused(),
        at(failures=60, max_retries=100, jitter=0.75),
        Outcome("retry", "cannot reach api.example:443 (connection refused)", 61, delay=0.75 * 8.0),
    ),
}


@pytest.mark.parametrize(("failure", "attempt", "expected"), ROWS.values(), ids=ROWS.keys())
def test_outcome_table(failure: BaseException | None, attempt: Attempt, expected: Outcome) -> None:
    assert classify(failure, attempt) == expected


def test_every_kind_of_outcome_has_a_row() -> None:
    kinds = {expected.kind for _, _, expected in ROWS.values()}
    assert kinds == {
        "retry",
        "refresh_ticket",
        "fall_back",
        "look_up",
        "continue_live",
        "give_up",
        "close",
    }


def test_no_cause_carries_the_key_or_the_ticket() -> None:
    for failure, attempt, _ in ROWS.values():
        cause = classify(failure, attempt).cause
        assert KEY not in cause
        assert TICKET not in cause
