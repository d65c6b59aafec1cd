"""The one place that reads configuration: a TOML file plus the token from the environment."""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

BUNDLED_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CONFIG_ENV = "SPEECHBOT_CONFIG"
TOKEN_ENV = "SPEECHBOT_TOKEN"


class ConfigError(Exception):
    """The configuration file is missing, unreadable or has a bad value."""


@dataclass(frozen=True)
class TelegramSettings:
    token: str = ""
    base_url: str = ""
    base_file_url: str = ""
    admins: tuple[int, ...] = ()
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""
    max_upload_bytes: int = 5 * 1024 * 1024
    salt: str = "speechbot"
    # Many users reach Telegram only through a proxy: http://, https://, socks5://.
    proxy: str = ""


@dataclass(frozen=True)
class Config:
    corpus_dir: Path = BUNDLED_CORPUS
    store_path: Path = field(default_factory=lambda: default_store_path())
    top_k: int = 3
    telegram: TelegramSettings = TelegramSettings()
    source: str = "built-in defaults"


def default_store_path() -> Path:
    """Per-user data directory, so the database never lands inside the installed package."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "speechbot" / "speechbot.db"


def find_config_file(explicit: str | None) -> Path | None:
    """Look-up order: --config PATH, $SPEECHBOT_CONFIG, ./config.toml, else none."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.is_file() else None


def load_config(explicit: str | None = None) -> Config:
    path = find_config_file(explicit)
    token_env = os.environ.get(TOKEN_ENV, "").strip()
    if path is None:
        return Config(telegram=TelegramSettings(token=token_env))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    return parse_config(raw, base=path.resolve().parent, token_env=token_env, source=str(path))


# Every key a config file may hold; any other is a mistake worth saying (admin = [...]).
KNOWN_KEYS = {
    "corpus": {"dir"},
    "store": {"path"},
    "search": {"top_k"},
    "telegram": {
        "token",
        "base_url",
        "base_file_url",
        "admins",
        "webhook_url",
        "webhook_listen",
        "webhook_port",
        "webhook_secret",
        "max_upload_bytes",
        "salt",
        "proxy",
    },
}


def _check_keys(raw: dict) -> None:
    """An unknown table or key is an error that names the closest known one."""
    every = [f"{t}.{k}" for t, keys in KNOWN_KEYS.items() for k in keys]
    for table, value in raw.items():
        if table not in KNOWN_KEYS:
            raise ConfigError(_unknown(f"[{table}]", table, list(KNOWN_KEYS)))
        for key in value if isinstance(value, dict) else ():
            if key not in KNOWN_KEYS[table]:
                raise ConfigError(_unknown(f"{table}.{key}", f"{table}.{key}", every))


def _unknown(shown: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"unknown config key {shown}" + (f" (did you mean {close[0]}?)" if close else "")


def parse_config(raw: dict, base: Path, token_env: str = "", source: str = "") -> Config:
    """Relative paths in the file are relative to the file, so a config works from any cwd."""
    _check_keys(raw)
    corpus = _table(raw, "corpus")
    store = _table(raw, "store")
    search = _table(raw, "search")
    tg = _table(raw, "telegram")
    defaults = Config()
    top_k = _int(search, "top_k", defaults.top_k, "search.top_k", low=1, high=20)
    admins = tg.get("admins", [])
    if not isinstance(admins, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) for a in admins
    ):
        raise ConfigError("telegram.admins must be a list of numeric Telegram user ids")
    telegram = TelegramSettings(
        token=token_env or _str(tg, "token", "", "telegram.token"),
        base_url=_str(tg, "base_url", "", "telegram.base_url"),
        base_file_url=_str(tg, "base_file_url", "", "telegram.base_file_url"),
        admins=tuple(admins),
        webhook_url=_str(tg, "webhook_url", "", "telegram.webhook_url"),
        webhook_listen=_str(tg, "webhook_listen", "127.0.0.1", "telegram.webhook_listen"),
        webhook_port=_int(tg, "webhook_port", 8443, "telegram.webhook_port", low=1, high=65535),
        webhook_secret=_str(tg, "webhook_secret", "", "telegram.webhook_secret"),
        max_upload_bytes=_int(
            tg, "max_upload_bytes", 5 * 1024 * 1024, "telegram.max_upload_bytes", low=1
        ),
        salt=_str(tg, "salt", "speechbot", "telegram.salt"),
        proxy=_proxy(_str(tg, "proxy", "", "telegram.proxy")),
    )
    return Config(
        corpus_dir=_path(corpus, "dir", base) or defaults.corpus_dir,
        store_path=_path(store, "path", base) or defaults.store_path,
        top_k=top_k,
        telegram=telegram,
        source=source,
    )


PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://")


def _proxy(url: str) -> str:
    if url and not url.lower().startswith(PROXY_SCHEMES):
        raise ConfigError(
            "telegram.proxy must start with " + ", ".join(PROXY_SCHEMES) + f" (got {url[:40]})"
        )
    return url


def _table(raw: dict, name: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _str(table: dict, key: str, default: str, label: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{label} must be a string")
    return value.strip()


def _int(table: dict, key: str, default: int, label: str, low: int, high: int | None = None) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{label} must be a whole number ≥ {low}")
    if high is not None and value > high:
        raise ConfigError(f"{label} must be at most {high}")
    return value


def _path(table: dict, key: str, base: Path) -> Path | None:
    value = _str(table, key, "", key)
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
