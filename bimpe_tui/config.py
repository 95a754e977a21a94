"""Settings from flags, the environment and `config.toml`, in that order of precedence."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

APP_NAME = "bimpe-tui"
DEFAULT_BASE_URL = "https://api.bimpe.ai"
ENV_API_KEY = "BIMPEAI_API_KEY"
ENV_BASE_URL = "BIMPEAI_BASE_URL"

#: Keys the config file may hold, with the type each must have.
CONFIG_KEYS: dict[str, type] = {"api_key": str, "base_url": str}

NO_KEY_MESSAGE = (
    "no API key. Give one in any of three ways: set BIMPEAI_API_KEY; "
    'put api_key = "sk_..." in {config}; or point --config at a file that has it. '
    "To try bimpe-tui without a key: bimpe-tui --demo"
)


class ConfigError(Exception):
    """The settings cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach the service."""

    api_key: str | None = field(repr=False)
    base_url: str
    config_path: Path
    warnings: list[str] = field(default_factory=list)

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
    """Read the config file; problems become warnings, never a crash.

    A missing file is an empty config. Unknown keys and wrong types are
    reported and ignored, so a file written for a newer version still works.
    """
    warnings: list[str] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, warnings
    except OSError as exc:
        return {}, [f"cannot read {path}: {exc.strerror or exc}"]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return {}, [f"ignoring {path}: not valid TOML ({exc})"]
    warnings.extend(_permission_warning(path))
    out: dict[str, Any] = {}
    for key, value in data.items():
        expected = CONFIG_KEYS.get(key)
        if expected is None:
            warnings.append(f"{path}: unknown key {key!r} ignored")
        elif not isinstance(value, expected):
            warnings.append(f"{path}: {key} should be a {expected.__name__}; ignored")
        else:
            out[key] = value
    return out, warnings


def save_api_key(path: Path, api_key: str) -> None:
    """Write `api_key` into the config file, keeping its other settings; mode 600.

    The file is replaced atomically and created readable by its owner alone,
    so the key is never on disk where others can read it.
    """
    import tomli_w

    from .state import write_atomically

    if not api_key.startswith("sk_") or any(c.isspace() for c in api_key):
        raise ConfigError("that does not look like an API key (they start with sk_)")
    config, _ = read_config(path)
    config["api_key"] = api_key
    write_atomically(path, tomli_w.dumps(config).encode("utf-8"))


def _permission_warning(path: Path) -> list[str]:
    # As ssh does for private keys: a key file others can read is a leak.
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [f"{path} is readable by others; run: chmod 600 {path}"]
    return []


def load_settings(
    *,
    base_url: str | None = None,
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    insecure_http: bool = False,
) -> Settings:
    """Resolve the settings: flag, then environment, then config file, then default."""
    environ = os.environ if env is None else env
    path = config_path or default_config_path()
    config, warnings = read_config(path)
    key = environ.get(ENV_API_KEY) or config.get("api_key")
    url = base_url or environ.get(ENV_BASE_URL) or config.get("base_url") or DEFAULT_BASE_URL
    return Settings(
        api_key=key or None,
        base_url=check_base_url(url, insecure_http=insecure_http),
        config_path=path,
        warnings=warnings,
    )


def check_base_url(url: str, *, insecure_http: bool = False) -> str:
    """Validate a base URL; plain http only to this machine, unless `insecure_http`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base URL must look like https://host, got {url!r}")
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not loopback and not insecure_http:
        raise ConfigError(
            f"refusing plain http to {parts.hostname}: the API key would travel in clear "
            "(--insecure-http allows it)"
        )
    return url.strip().rstrip("/")
