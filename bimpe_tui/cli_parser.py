"""The command line's grammar: every command's arguments and their checks.

Only the standard library is imported here: `--version` and `--help` answer
without loading httpx, Textual or aiohttp. What each command does is run from
`cli.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import __version__


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _add_connection_options(parser: argparse.ArgumentParser, *, sub: bool = False) -> None:
    # On a subcommand, an option not given must not reset the one given before
    # the subcommand's name (`bimpe-tui --config X tail ...`): argparse would
    # otherwise write the subparser's default over it.
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    parser.add_argument(
        "--base-url",
        metavar="URL",
        **default,
        help="API server (default: env BIMPEAI_BASE_URL, config file, or https://api.bimpe.ai)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        help="config file (default: config.toml in the user config dir)",
        **default,
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        **default,
        help="allow a plain http:// base URL to another machine (the key travels in clear)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="bimpe-tui",
        description="Watch BimpeAI agent conversations live in the terminal. "
        "The API key comes from env BIMPEAI_API_KEY or api_key in the config file.",
    )
    parser.add_argument("--version", action="version", version=f"bimpe-tui {__version__}")
    _add_connection_options(parser)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the embedded demo server and connect to it (no key needed)",
    )
    parser.add_argument(
        "--chaos",
        action="store_true",
        help="with --demo: inject every kind of fault, about one per stream per 20 s",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="with --demo: the demo world's seed (default 7)"
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        default=1.0,
        help="with --demo: message speed multiplier (default 1.0)",
    )
    parser.add_argument(
        "--refresh",
        type=_positive_float,
        metavar="S",
        help="seconds between refreshes of each agent's conversation list "
        "(default: refresh_interval in the config file, or 15; at least 2)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="watch only: no take over, reply or hand back this run (also read_only = true "
        "in the config file)",
    )
    parser.add_argument(
        "--no-alerts",
        action="store_true",
        help="no bells, notifications or highlights this run, whatever the config file says",
    )
    # For tests and tools: run without a terminal, and write every message
    # shown to a file (or - for stdout) as JSON lines.
    parser.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument(
        "--state-file",
        metavar="PATH",
        type=Path,
        help="where to remember what you watched and saw (default: state.toml in the "
        "user state dir)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tail = sub.add_parser(
        "tail",
        help="stream one conversation to stdout as JSON lines",
        description="Stream one conversation's new messages to stdout, one JSON object "
        "per line; status changes go to stderr.",
    )
    tail.add_argument("agent_id", metavar="AGENT_ID")
    tail.add_argument("conversation_id", metavar="CONVERSATION_ID")
    tail.add_argument(
        "--after",
        metavar="ID_OR_ISO",
        help="replay the messages after this message id or ISO-8601 time first",
    )
    tail.add_argument(
        "--no-reconnect",
        dest="reconnect",
        action="store_false",
        help="stop when the server ends the stream instead of reconnecting",
    )
    tail.add_argument(
        "--max-retries",
        type=_non_negative_int,
        default=5,
        metavar="N",
        help="consecutive failed attempts before giving up (default 5)",
    )
    tail.add_argument(
        "--read-timeout",
        type=_positive_float,
        default=45.0,
        metavar="S",
        help="seconds without any data before the connection counts as dead (default 45)",
    )
    _add_connection_options(tail, sub=True)
    _add_export_parser(sub)
    _add_watch_parser(sub)

    send = sub.add_parser(
        "send",
        help="send a message into one conversation (the text from -m or stdin)",
        description="Send a message into one conversation and print the created message "
        "as one JSON line. The text comes from -m, else from stdin. Retries reuse one "
        "Idempotency-Key, so a retried send is never sent twice.",
    )
    send.add_argument("agent_id", metavar="AGENT_ID")
    send.add_argument("conversation_id", metavar="CONVERSATION_ID")
    send.add_argument("-m", "--message", metavar="TEXT", help="the text (default: read stdin)")
    send.add_argument(
        "--role",
        choices=("assistant", "user"),
        default="assistant",
        help="the role to send as (default assistant: the business's side)",
    )
    _add_connection_options(send, sub=True)

    ai = sub.add_parser(
        "ai",
        help="pause or resume a conversation's AI",
        description="Pause (a person takes over) or resume a conversation's AI and print "
        "the server's answer as one JSON line.",
    )
    ai.add_argument("action", choices=("pause", "resume"))
    ai.add_argument("agent_id", metavar="AGENT_ID")
    ai.add_argument("conversation_id", metavar="CONVERSATION_ID")
    _add_connection_options(ai, sub=True)

    login = sub.add_parser(
        "login",
        help="save an API key in the config file (created with mode 600)",
        description="Read an API key (prompted, or from stdin when piped) and save it as "
        "api_key in the config file, created readable by you alone. The key is never "
        "taken from the command line, where shell history and ps would keep it.",
    )
    login.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        help="config file (default: config.toml in the user config dir)",
    )

    demo = sub.add_parser(
        "demo-server",
        help="run the demo Console API server on 127.0.0.1",
        description="Serve a simulated BimpeAI Console API on 127.0.0.1 until Ctrl-C.",
    )
    demo.add_argument("--port", type=_non_negative_int, default=0, help="port (default: any free)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the demo world (default 7)")
    demo.add_argument(
        "--rate",
        type=_positive_float,
        default=1.0,
        help="message speed multiplier (default 1.0)",
    )
    demo.add_argument(
        "--heartbeat",
        type=_positive_float,
        default=15.0,
        metavar="S",
        help="seconds between heartbeats (default 15)",
    )
    demo.add_argument(
        "--faults",
        metavar="KINDS",
        default="",
        help="comma-separated fault kinds to inject at random (drop, cut, silent, close, "
        "stream_401, ticket_429, ticket_503, after_410, list_429, list_503, send_lost) "
        "or 'all'",
    )
    demo.add_argument(
        "--fault-rate",
        type=_positive_float,
        default=0.05,
        metavar="R",
        help="mid-stream faults per stream per second (default 0.05: one per 20 s)",
    )
    demo.add_argument("--chaos", action="store_true", help="same as --faults all")
    bench = demo.add_argument_group("for benchmarks")
    bench.add_argument(
        "--bench-conversations",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="serve a uniform world instead: one agent, N conversations at one steady rate",
    )
    bench.add_argument(
        "--bench-period",
        type=_positive_float,
        default=0.05,
        metavar="S",
        help="with --bench-conversations: seconds between messages of each (default 0.05)",
    )
    bench.add_argument(
        "--control",
        action="store_true",
        help="serve /_demo/clock, /_demo/faults and /_demo/stats (with the API key) to move "
        "the clock, queue faults and read counters",
    )
    bench.add_argument(
        "--replay-cache",
        type=_non_negative_int,
        default=0,
        metavar="MIB",
        help="keep up to MIB MiB of encoded frames so long replays are served from memory",
    )
    return parser


# -- watch ----------------------------------------------------------------------------


#: The kinds of events `bimpe-tui watch` prints (here, not in watch.py: building
#: the parser must not import the monitor; `--version` stays fast).
WATCH_EVENTS = ("message", "conversation", "attention", "alert", "status", "waiting")


def _add_watch_parser(sub: Any) -> None:
    watch = sub.add_parser(
        "watch",
        help="the monitor for scripts: every event as one JSON line",
        description="Watch every conversation of every agent, without a screen: one JSON "
        "object per line per event (message, conversation, attention, alert, status, "
        "waiting). "
        "Its cursors are kept in the state file apart from the app's, so a restart "
        "resumes without repeats; SIGINT and SIGTERM save and exit 0.",
    )
    watch.add_argument("--demo", action="store_true", help="watch the embedded demo server")
    watch.add_argument("--seed", type=int, default=7, help="with --demo: the world's seed")
    watch.add_argument(
        "--rate", type=_positive_float, default=1.0, help="with --demo: message speed multiplier"
    )
    watch.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="AGENT_ID",
        help="only this agent (repeat for more)",
    )
    watch.add_argument(
        "--attention-only",
        action="store_true",
        help="only events of conversations that need a person",
    )
    watch.add_argument(
        "--event",
        action="append",
        default=[],
        choices=WATCH_EVENTS,
        help="only these kinds of events (repeat for more; default: all)",
    )
    watch.add_argument(
        "--state-file", metavar="PATH", type=Path, help="the state file (default: the app's)"
    )
    _add_connection_options(watch, sub=True)


def _add_export_parser(sub: Any) -> None:
    export = sub.add_parser(
        "export",
        help="write a whole conversation to Markdown or JSON Lines",
        description="Write one conversation, from its first message to its newest, as "
        "Markdown (to read or paste into a ticket) or JSON Lines (each message as the "
        "server sent it). Progress goes to stderr: a bar on a terminal, plain lines "
        "otherwise.",
    )
    export.add_argument("agent_id", metavar="AGENT_ID")
    export.add_argument("conversation_id", metavar="CONVERSATION_ID")
    export.add_argument(
        "--format",
        choices=("md", "jsonl"),
        help="md or jsonl (default: from the -o file name, .jsonl or .ndjson for JSON "
        "Lines, else md)",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the file to write, replaced only once complete (default, or '-': stdout)",
    )
    _add_connection_options(export, sub=True)
