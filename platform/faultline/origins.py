"""Which web pages may use the site with its visitors' cookies: one rule for forms and sockets.

A browser sends the session cookie to every port of a host (SameSite treats
http://127.0.0.1:8899 and http://127.0.0.1:8000 as the same site), so the cookie
alone proves nothing: the page's Origin must be the very origin the request was
served at (scheme, host and port, as Django's CSRF check compares it for forms),
or one the operator listed in FAULTLINE_ORIGINS (which is also CSRF_TRUSTED_ORIGINS).
Websockets have no CSRF token, so this check is all that stands between another
page on the same host and the interviewer's console.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return bytes(value).decode("latin1")
            except UnicodeDecodeError:  # pragma: no cover - latin1 decodes any byte
                return None
    return None


def origin_allowed(origin: str | None, *, secure: bool, host: str | None) -> bool:
    """True when a page at `origin` may act on a request served at `host`.

    `host` is the Host header of the request (with its port), `secure` whether it
    came over TLS. Mirrors Django's CsrfViewMiddleware: the served origin matches
    exactly, or the origin is one of the configured ones; the Host itself must be
    an allowed host (a rebound DNS name is not).
    """
    if not origin or not host:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    if origin == f"{'https' if secure else 'http'}://{host}":
        return True
    return origin in settings.FAULTLINE_ORIGINS


def websocket_origin_allowed(scope: dict[str, Any]) -> bool:
    return origin_allowed(
        _header(scope, b"origin"),
        secure=scope.get("scheme") == "wss",
        host=_header(scope, b"host"),
    )


class OriginValidator:
    """ASGI middleware: a websocket whose page is not one of ours is refused before routing."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not websocket_origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
