"""Settings from flags, the environment and `config.toml`, in that order of precedence.

The file (every key optional; unknown keys and bad values are warned about
and ignored, so a file written for a newer version still works):

```toml
api_key = "sk_..."
base_url = "https://api.bimpe.ai"
refresh_interval = 15        # seconds between conversation-list refreshes (2 at least)
auto_watch = ["needs_attention", "agent:ag_1", "channel:whatsapp"]   # see rules.py
read_only = false            # true: watch only (no take over, reply or hand back; send/ai refuse)

[alerts]
notify = "bell"              # bell | osc9 | osc777 | none
attention = true             # a conversation starts needing attention
new_conversation = false     # a conversation appears
words = ["refund"]           # whole words, any case
regexes = ["order #?\\d{5}"] # Python regexes, any case
roles = ["customer"]         # every message with one of these roles ...
roles_when = "needs_attention"   # ... in conversations needing attention, or "always"
min_interval = 5             # seconds between two bells/notifications at least

[waits]                      # a customer's wait (see waits.py), in seconds
show_after = 120             # a row says "waiting 4m" from here
colour_after = 300           # ... in the warning colour from here
alert_after = 600            # one alert per wait from here (0: never)
```

Every problem becomes a warning that names the file and the setting (the
checks, one per key, are in `config_checks`). Here: `Settings`, resolved by
`load_settings` from flags, environment, this file and defaults; `read_config`;
`save_api_key` (`bimpe-tui login`); `check_base_url`.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config_checks import (
    MAX_LIST_ITEMS,
    MAX_MIN_INTERVAL,
    MAX_REFRESH_INTERVAL,
    MIN_REFRESH_INTERVAL,
    NOTIFY_MODES,
    ROLES_WHEN,
    NotifyMode,
    RolesWhen,
    check_config,
    shown,
)
from .waits import DEFAULT_WAITS, WaitRules

# The limits and choices are the checks' (config_checks); they are named from
# here too, where everything else imports the settings from.
__all__ = [
    "APP_NAME",
    "DEFAULT_BASE_URL",
    "DEFAULT_MIN_INTERVAL",
    "DEFAULT_REFRESH_INTERVAL",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "MAX_LIST_ITEMS",
    "MAX_MIN_INTERVAL",
    "MAX_REFRESH_INTERVAL",
    "MIN_REFRESH_INTERVAL",
    "NOTIFY_MODES",
    "NO_KEY_MESSAGE",
    "ROLES_WHEN",
    "AlertSettings",
    "ConfigError",
    "NotifyMode",
    "RolesWhen",
    "Settings",
    "check_base_url",
    "default_config_path",
    "load_settings",
    "read_config",
    "save_api_key",
]

APP_NAME = "bimpe-tui"
DEFAULT_BASE_URL = "https://api.bimpe.ai"
ENV_API_KEY = "BIMPEAI_API_KEY"
ENV_BASE_URL = "BIMPEAI_BASE_URL"

DEFAULT_REFRESH_INTERVAL = 15.0
DEFAULT_MIN_INTERVAL = 5.0

NO_KEY_MESSAGE = (
    "no API key. Save one with: bimpe-tui login (it asks for the key and writes {config}); "
    "or set BIMPEAI_API_KEY; or point --config at a file that has api_key. "
    "To try bimpe-tui without a key: bimpe-tui --demo"
)


class ConfigError(Exception):
    """The settings cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class AlertSettings:
    """The `[alerts]` table: what rings, and how often at most.

    `words` are matched as whole words ignoring case; `regexes` are Python
    regexes, also ignoring case (both in `alerts.AlertRules`). `roles` are
    compared in lower case.
    """

    notify: NotifyMode = "bell"
    attention: bool = True
    new_conversation: bool = False
    words: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    roles_when: RolesWhen = "needs_attention"
    min_interval: float = DEFAULT_MIN_INTERVAL

    def disabled(self) -> AlertSettings:
        """These settings with every alert off (`--no-alerts`): nothing rings or matches."""
        return replace(
            self,
            notify="none",
            attention=False,
            new_conversation=False,
            words=(),
            regexes=(),
            roles=(),
        )


@dataclass(frozen=True)
class Settings:
    """Everything a command needs: how to reach the service, and how to watch it."""

    api_key: str | None = field(repr=False)
    base_url: str
    config_path: Path
    warnings: list[str] = field(default_factory=list)
    refresh_interval: float = DEFAULT_REFRESH_INTERVAL
    auto_watch: tuple[str, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)
    waits: WaitRules = DEFAULT_WAITS
    read_only: bool = False

    def require_key(self) -> str:
        """The API key, or a ConfigError naming the ways to give one."""
        if not self.api_key:
            raise ConfigError(NO_KEY_MESSAGE.format(config=self.config_path))
        return self.api_key


def default_config_path() -> Path:
    """`config.toml` in platformdirs' user config dir (computed, never created)."""
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def read_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Read and check the config file; problems become warnings, never a crash.

    A missing file is an empty config. The dict holds only the settings that
    passed their checks, cleaned (lists without their bad items, numbers
    clamped to their range); each problem is a warning naming the file and
    the setting (`alerts.notify`, `auto_watch`, ...).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, []
    except OSError as exc:
        return {}, [f"cannot read {path}: {exc.strerror or exc}"]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    # TOMLDecodeError and UnicodeDecodeError are ValueErrors, and so is what
    # tomllib raises for an integer of more than 4,300 digits.
    except (ValueError, RecursionError) as exc:
        return {}, [f"ignoring {path}: not valid TOML ({exc})"]
    return check_config(path, data)


# -- saving the key ----------------------------------------------------------------------


def save_api_key(path: Path, api_key: str) -> None:
    """Write `api_key` into the config file, keeping its other settings; mode 600.

    The file is replaced atomically and created readable by its owner alone,
    so the key is never on disk where others can read it. Every other key is
    kept as it is, unknown ones too (comments are not: TOML writers drop
    them). A file that is not valid TOML is refused and left alone rather
    than overwritten.
    """
    import tomli_w

    from .atomic import write_bytes

    if not api_key.startswith("sk_") or any(c.isspace() for c in api_key):
        raise ConfigError("that does not look like an API key (they start with sk_)")
    config = _read_for_update(path)
    config["api_key"] = api_key
    write_bytes(path, tomli_w.dumps(config).encode("utf-8"), make_parents=True)


def _read_for_update(path: Path) -> dict[str, Any]:
    """The file's settings exactly as written (unchecked), to rewrite them."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ConfigError(
            f"{path} is not valid TOML; fix or remove it, then log in again (it was left as it is)"
        ) from None


# -- resolving ---------------------------------------------------------------------------


def load_settings(
    *,
    base_url: str | None = None,
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    insecure_http: bool = False,
    refresh_interval: float | None = None,
    no_alerts: bool = False,
) -> Settings:
    """Resolve the settings: flag, then environment, then config file, then default.

    `refresh_interval` is `--refresh S` (raised to MIN_REFRESH_INTERVAL with
    a warning when below it); `no_alerts` is `--no-alerts`, which turns every
    alert off for this run whatever the file says.
    """
    environ = os.environ if env is None else env
    path = config_path or default_config_path()
    config, warnings = read_config(path)
    key = environ.get(ENV_API_KEY) or config.get("api_key")
    url, source = _first(
        ("--base-url", base_url),
        (ENV_BASE_URL, environ.get(ENV_BASE_URL)),
        (f"{path}: base_url", config.get("base_url")),
        ("the default", DEFAULT_BASE_URL),
    )
    refresh = config.get("refresh_interval", DEFAULT_REFRESH_INTERVAL)
    if refresh_interval is not None:
        refresh = _refresh_flag(refresh_interval, warnings)
    alerts = _alert_settings(config.get("alerts", {}))
    return Settings(
        api_key=key or None,
        base_url=check_base_url(url, insecure_http=insecure_http, source=source),
        config_path=path,
        warnings=warnings,
        refresh_interval=refresh,
        auto_watch=tuple(config.get("auto_watch", ())),
        alerts=alerts.disabled() if no_alerts else alerts,
        waits=_wait_rules(config.get("waits", {}), no_alerts=no_alerts),
        read_only=config.get("read_only", False),
    )


def _alert_settings(table: Mapping[str, Any]) -> AlertSettings:
    """AlertSettings from a checked `[alerts]` table (defaults for what it lacks)."""
    default = AlertSettings()
    return AlertSettings(
        notify=table.get("notify", default.notify),
        attention=table.get("attention", default.attention),
        new_conversation=table.get("new_conversation", default.new_conversation),
        words=tuple(table.get("words", default.words)),
        regexes=tuple(table.get("regexes", default.regexes)),
        roles=tuple(table.get("roles", default.roles)),
        roles_when=table.get("roles_when", default.roles_when),
        min_interval=table.get("min_interval", default.min_interval),
    )


def _wait_rules(table: Mapping[str, Any], *, no_alerts: bool) -> WaitRules:
    """WaitRules from a checked `[waits]` table; `--no-alerts` turns its alert off too."""
    rules = WaitRules(**{key: float(value) for key, value in table.items()})
    return replace(rules, alert_after=0.0) if no_alerts else rules


def _first(*candidates: tuple[str, str | None]) -> tuple[str, str]:
    """The first given value and where it came from (for an error naming it)."""
    for source, value in candidates:
        if value:
            return value, source
    raise AssertionError("the last candidate is a default")


def _refresh_flag(seconds: float, warnings: list[str]) -> float:
    if math.isnan(seconds) or seconds <= 0:
        raise ConfigError(f"--refresh must be a number of seconds above 0, got {seconds!r}")
    if seconds < MIN_REFRESH_INTERVAL:
        warnings.append(
            f"--refresh {seconds:g} is below the minimum {MIN_REFRESH_INTERVAL:g}; "
            f"using {MIN_REFRESH_INTERVAL:g}"
        )
        return MIN_REFRESH_INTERVAL
    if seconds > MAX_REFRESH_INTERVAL:
        warnings.append(
            f"--refresh {seconds:g} is above the maximum {MAX_REFRESH_INTERVAL:g}; "
            f"using {MAX_REFRESH_INTERVAL:g}"
        )
        return MAX_REFRESH_INTERVAL
    return seconds


def check_base_url(url: str, *, insecure_http: bool = False, source: str = "base URL") -> str:
    """Validate a base URL; plain http only to this machine, unless `insecure_http`.

    `source` names where the URL came from (a flag, a variable, a file's setting).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{source} must look like https://host, got {shown(url)}")
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not loopback and not insecure_http:
        raise ConfigError(
            f"{source}: refusing plain http to {parts.hostname}: the API key would travel in clear "
            "(--insecure-http allows it)"
        )
    return url.strip().rstrip("/")
