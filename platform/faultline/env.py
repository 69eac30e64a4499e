"""Typed readers for environment variables that fail loudly on a bad value.

Every setting the platform reads from the environment goes through here, so a
typo in production stops start-up with one line naming the variable instead of
surfacing as a traceback deep inside a request.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A configuration value is missing or malformed."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """A string variable; `NAME_FILE` (a path) wins over `NAME`, for secrets."""
    file_var = os.environ.get(f"{name}_FILE")
    if file_var:
        try:
            return Path(file_var).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"{name}_FILE={file_var!r}: cannot read the file ({exc.strerror})"
            ) from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected a boolean (1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={raw!r}: expected an integer >= {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_origins(name: str) -> list[str]:
    """A comma-separated list of web origins (`scheme://host[:port]`), normalised to lower case.

    Exact origins only: the same list is Django's CSRF_TRUSTED_ORIGINS and the
    websocket origin check, and both must accept exactly the same pages.
    """
    origins = []
    for item in env_list(name, []):
        try:
            parts = urlsplit(item)
            port = parts.port  # raises ValueError on a port that is not a number
        except ValueError:
            parts, port = None, None
        if (
            parts is None
            or parts.scheme not in {"http", "https"}
            or not parts.hostname
            or "*" in item
            or parts.username is not None
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
        ):
            raise ConfigError(
                f"{name}: {item!r} is not an origin; expected scheme://host[:port] "
                "such as https://interviews.example.com (no path, no wildcard)"
            )
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        origins.append(f"{parts.scheme}://{host}" + (f":{port}" if port is not None else ""))
    return origins


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return value


def env_url(name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return None
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in schemes:
        raise ConfigError(
            f"{name}={_redact(raw)!r}: expected a URL starting with "
            + " or ".join(f"{s}://" for s in schemes)
        )
    return raw


def _redact(url: str) -> str:
    """Hide a password in a URL before it is printed in an error."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
