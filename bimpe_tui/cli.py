"""Command line: `bimpe-tui`, `tail`, `export`, `send`, `ai`, `login`, `demo-server`, exit codes.

Only the standard library is imported at module level, so `--version` and
`--help` answer without loading httpx, Textual or aiohttp.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__

if TYPE_CHECKING:
    from .config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


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


def undecodable(text: str) -> str | None:
    """Where `text` is not UTF-8 ("byte 0xff, character 3"), or None if it is.

    Python hands over argv and stdin bytes that are not UTF-8 as lone
    surrogates (surrogateescape), which fail later, deep in an encoder, as a
    traceback; this finds them up front. The text itself is not repeated: it
    may be a key or a private message.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        code = ord(bad)
        # surrogateescape maps byte b to U+DC00+b; anything else is a real lone surrogate.
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        return f"{what}, character {exc.start + 1}"
    return None


def _byte(exc: UnicodeDecodeError) -> str:
    """The first byte a strict decoder refused, in the words `undecodable` uses."""
    return f"byte 0x{exc.object[exc.start]:02x}"


def _argument_names(parser: argparse.ArgumentParser, command: str | None) -> dict[str, str]:
    """Each argument's destination and the name the user typed it by (`-m/--message`)."""
    names: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices.get(command) if command else None
            if isinstance(sub, argparse.ArgumentParser):
                names.update(_argument_names(sub, None))
            continue
        if action.option_strings:
            names[action.dest] = "/".join(action.option_strings)
        else:
            metavar = action.metavar
            names[action.dest] = metavar if isinstance(metavar, str) else action.dest
    return names


def _not_utf8(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The line that names the first argument whose bytes are not UTF-8, if any."""
    command = getattr(args, "command", None)
    names = _argument_names(parser, command)
    for dest, value in vars(args).items():
        if not isinstance(value, str | Path):
            continue
        where = undecodable(str(value))
        if where is not None:
            prog = f"bimpe-tui {command}" if command else "bimpe-tui"
            return f"{prog}: {names.get(dest, dest)} is not valid UTF-8 ({where})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = _not_utf8(parser, args)
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    if args.command == "demo-server":
        return _demo_server(args)
    if args.command == "tail":
        return _tail(args)
    if args.command == "login":
        return _login(args)
    if args.command == "export":
        return _export(args)
    if args.command in ("send", "ai"):
        return _act(args)
    if args.command == "watch":
        return _watch(args)
    return _app(args)


def _app(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_settings

    api_key: str | None = None
    try:
        settings = load_settings(
            base_url=args.base_url,
            config_path=args.config,
            insecure_http=args.insecure_http,
            refresh_interval=args.refresh,
            no_alerts=args.no_alerts,
        )
        if not args.demo:
            api_key = _require_key(settings)
    except ConfigError as exc:
        print(f"bimpe-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from .app import AppConfig, BimpeApp
    from .state import StateStore, default_state_path

    demo = None
    if args.demo:
        from .demo.faults import FaultPlan
        from .demo.server import DemoServer

        faults = FaultPlan.chaos(rate=0.05, seed=args.seed) if args.chaos else None
        demo = DemoServer(seed=args.seed, rate=args.rate, faults=faults)
    store = StateStore(args.state_file or default_state_path())
    record: TextIO | None = None
    if args.record:
        record = sys.stdout if args.record == "-" else open(args.record, "a")  # noqa: SIM115
    app = BimpeApp(
        AppConfig(
            state=store,
            api_key=api_key,
            base_url=settings.base_url,
            refresh_interval=settings.refresh_interval,
            auto_watch=settings.auto_watch,
            alerts=settings.alerts,
            tmux_passthrough=bool(os.environ.get("TMUX")),
            demo=demo,
            warnings=settings.warnings,
            read_only=args.read_only or settings.read_only,
            record=record,
        )
    )
    from . import event_loop

    event_loop.run(app.run_async(headless=args.headless))
    # Whatever way the app ended (a crash included), save what it knew.
    problem = store.save_if_changed()
    if problem is not None:
        print(f"bimpe-tui: warning: where you left off is not saved: {problem}", file=sys.stderr)
    return app.return_code or EXIT_OK


def _require_key(settings: Settings) -> str:
    """The key; without one, the config file's problems first (a bad api_key is one)."""
    if not settings.api_key:
        _print_warnings(settings.warnings)
    return settings.require_key()


def _settings_with_key(args: argparse.Namespace) -> tuple[Settings, str] | None:
    """A subcommand's settings and key, warnings printed; None (said why) if unusable."""
    from .config import ConfigError, load_settings

    try:
        settings = load_settings(
            base_url=args.base_url, config_path=args.config, insecure_http=args.insecure_http
        )
        api_key = _require_key(settings)
    except ConfigError as exc:
        print(f"bimpe-tui: {exc}", file=sys.stderr)
        return None
    _print_warnings(settings.warnings)
    return settings, api_key


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"bimpe-tui: warning: {warning}", file=sys.stderr)


def _demo_server(args: argparse.Namespace) -> int:
    from .demo.faults import FaultPlan
    from .demo.server import parse_fault_spec, run_standalone

    spec = "all" if args.chaos else args.faults
    try:
        faults = (
            parse_fault_spec(spec, rate=args.fault_rate, seed=args.seed) if spec else FaultPlan()
        )
    except ValueError as exc:
        print(f"bimpe-tui demo-server: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_standalone(
        port=args.port,
        seed=args.seed,
        rate=args.rate,
        heartbeat_interval=args.heartbeat,
        faults=faults,
        bench_conversations=args.bench_conversations,
        bench_period=args.bench_period,
        control=args.control,
        replay_cache_bytes=args.replay_cache * 1024 * 1024,
    )


def _login(args: argparse.Namespace) -> int:
    import getpass

    from .config import ConfigError, default_config_path, save_api_key

    source = "the key typed" if sys.stdin.isatty() else "stdin"
    try:
        if sys.stdin.isatty():
            key = getpass.getpass("BimpeAI API key (input hidden): ")
        else:
            key = sys.stdin.readline()
    except UnicodeDecodeError as exc:
        # A strict locale refuses the bytes while reading; others let them through
        # as surrogates (checked below). Either way, never echo what was typed.
        print(f"bimpe-tui login: {source} is not valid UTF-8 ({_byte(exc)})", file=sys.stderr)
        return EXIT_USAGE
    where = undecodable(key)
    if where is not None:
        print(f"bimpe-tui login: {source} is not valid UTF-8 ({where})", file=sys.stderr)
        return EXIT_USAGE
    path = args.config or default_config_path()
    try:
        save_api_key(path, key.strip())
    except ConfigError as exc:
        print(f"bimpe-tui login: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"bimpe-tui: API key saved in {path} (readable by you alone)")
    return EXIT_OK


def _act(args: argparse.Namespace) -> int:
    from .act_cli import read_text, run_ai, run_send

    command = str(args.command)
    loaded = _settings_with_key(args)
    if loaded is None:
        return EXIT_USAGE
    settings, api_key = loaded
    if settings.read_only or args.read_only:
        # The promise of read-only is that nothing is sent, from the app or from here.
        print(f"bimpe-tui {command}: read-only (read_only = true or --read-only)", file=sys.stderr)
        return EXIT_USAGE
    if command == "send":
        try:
            text = read_text(args.message, sys.stdin)
        except UnicodeDecodeError as exc:
            where: str | None = _byte(exc)
        else:
            # -m was checked with the other arguments; what stdin gave is checked here.
            where = undecodable(text)
        if where is not None:
            print(f"bimpe-tui send: stdin is not valid UTF-8 ({where})", file=sys.stderr)
            return EXIT_USAGE
        return run_send(
            api_key=api_key,
            base_url=settings.base_url,
            agent_id=args.agent_id,
            conversation_id=args.conversation_id,
            text=text,
            role=args.role,
        )
    return run_ai(
        api_key=api_key,
        base_url=settings.base_url,
        agent_id=args.agent_id,
        conversation_id=args.conversation_id,
        pause=args.action == "pause",
    )


def _tail(args: argparse.Namespace) -> int:
    from .tail import run_tail

    loaded = _settings_with_key(args)
    if loaded is None:
        return EXIT_USAGE
    settings, api_key = loaded
    return run_tail(
        api_key=api_key,
        base_url=settings.base_url,
        agent_id=args.agent_id,
        conversation_id=args.conversation_id,
        after=args.after,
        reconnect=args.reconnect,
        max_retries=args.max_retries,
        read_timeout=args.read_timeout,
    )


# -- watch ----------------------------------------------------------------------------


#: The kinds of events `bimpe-tui watch` prints (here, not in watch.py: building
#: the parser must not import the monitor; `--version` stays fast).
WATCH_EVENTS = ("message", "conversation", "attention", "alert", "status")


def _add_watch_parser(sub: Any) -> None:
    watch = sub.add_parser(
        "watch",
        help="the monitor for scripts: every event as one JSON line",
        description="Watch every conversation of every agent, without a screen: one JSON "
        "object per line per event (message, conversation, attention, alert, status). "
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


def _watch(args: argparse.Namespace) -> int:
    from .state import StateStore, default_state_path
    from .watch import WatchFilter, watch

    demo = None
    api_key: str | None = None
    base_url = ""
    alerts = None
    if args.demo:
        from .demo.server import DemoServer

        demo = DemoServer(seed=args.seed, rate=args.rate)
    else:
        loaded = _settings_with_key(args)
        if loaded is None:
            return EXIT_USAGE
        settings, api_key = loaded
        base_url, alerts = settings.base_url, settings.alerts
    from .monitor import Connection, MonitorConfig

    config = MonitorConfig(
        state=StateStore(args.state_file or default_state_path()),
        connection=None if demo is not None else Connection.to(base_url, api_key),
    )
    if alerts is not None:
        config.alerts = alerts
    selected = WatchFilter(
        agents=frozenset(args.agent),
        attention_only=args.attention_only,
        events=frozenset(args.event or WATCH_EVENTS),
    )
    from . import event_loop

    return event_loop.run(watch(config, sys.stdout, selected, demo))


# -- export ---------------------------------------------------------------------------


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


def _export(args: argparse.Namespace) -> int:
    from .export import format_for_path
    from .export_cli import run_export

    loaded = _settings_with_key(args)
    if loaded is None:
        return EXIT_USAGE
    settings, api_key = loaded
    return run_export(
        api_key=api_key,
        base_url=settings.base_url,
        agent_id=args.agent_id,
        conversation_id=args.conversation_id,
        fmt=args.format or format_for_path(args.output),
        output=args.output,
    )
