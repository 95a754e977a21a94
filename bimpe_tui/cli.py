"""Command line: `bimpe-tui`, `tail`, `export`, `watch`, `send`, `ai`, `login`,
`demo-server`: each command run from its parsed arguments, and the exit codes.

The arguments themselves are `cli_parser.py`'s. Only the standard library is
imported at module level, so `--version` and `--help` answer without loading
httpx, Textual or aiohttp: each command imports what it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .cli_parser import WATCH_EVENTS, build_parser

if TYPE_CHECKING:
    from .config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "undecodable"]


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
        # A repeatable option (`watch --agent`) holds a list of what was typed.
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str | Path):
                continue
            where = undecodable(str(item))
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
            waits=settings.waits,
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


def _watch(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_settings
    from .state import StateStore, default_state_path
    from .watch import WatchFilter, watch

    demo = None
    api_key: str | None = None
    if args.demo:
        from .demo.server import DemoServer

        demo = DemoServer(seed=args.seed, rate=args.rate)
        # No key, and the demo's own address: but the rest of the config file
        # (alerts, waits, refresh_interval) as for a real server, so a script
        # can be tried on the demo as it will run.
        try:
            settings = load_settings(config_path=args.config)
        except ConfigError as exc:
            print(f"bimpe-tui: {exc}", file=sys.stderr)
            return EXIT_USAGE
        _print_warnings(settings.warnings)
    else:
        loaded = _settings_with_key(args)
        if loaded is None:
            return EXIT_USAGE
        settings, api_key = loaded
    from .monitor import Connection, MonitorConfig

    config = MonitorConfig(
        state=StateStore(args.state_file or default_state_path()),
        connection=None if demo is not None else Connection.to(settings.base_url, api_key),
        refresh_interval=settings.refresh_interval,
        alerts=settings.alerts,
        waits=settings.waits,
    )
    selected = WatchFilter(
        agents=frozenset(args.agent),
        attention_only=args.attention_only,
        events=frozenset(args.event or WATCH_EVENTS),
    )
    from . import event_loop

    return event_loop.run(watch(config, sys.stdout, selected, demo))


# -- export ---------------------------------------------------------------------------


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
