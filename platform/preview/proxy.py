"""The preview origin: an ASGI app, served on its own port (PREVIEW_PORT), that relays each
request to the interview's live app through its session's unix socket.

Why a separate origin: the candidate's HTML and JavaScript are hostile. Served from
another host than the platform's, a script in them cannot read the platform's
cookies or CSRF token, cannot call the console's API with the interviewer's session
(the platform's cookies are never sent to, nor forwarded from, this host) and cannot
open the console's websocket (its Origin is refused by faultline.origins).

Streaming: the response is relayed chunk by chunk as the app writes it (no
buffering), and when the browser goes away mid-response the connection to the app is
closed at once, so the app sees its client hang up (the cancellation exercise).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import h11
from channels.db import database_sync_to_async
from django.conf import settings

from preview import services
from preview.manager import PreviewUnavailable, manager
from preview.tokens import Viewer, read_label

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# How long a viewer's right to the preview is trusted before it is checked again.
RECHECK_SECONDS = 5.0
READ_CHUNK = 65536
HOP_BY_HOP = {
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
}  # fmt: skip
# Cookies of the platform: never forwarded to the candidate's app, whatever host sent them.
PLATFORM_COOKIES = {"sessionid", "csrftoken"}
# On every relayed response: the app's pages may load and call only their own origin
# (no other site, not the platform, no beacon to the outside), and none can frame them
# but the platform's pages (any page of another origin would do for a clickjack).
CSP = (
    b"default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; connect-src 'self'; "
    b"form-action 'self'; base-uri 'self'; object-src 'none'"
)

_checked: dict[str, tuple[int, float]] = {}


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {bytes(k).lower(): bytes(v) for k, v in scope.get("headers", [])}


async def _plain(send: Send, status: int, title: str, text: str) -> None:
    body = (
        "<!doctype html><meta charset=utf-8><title>Preview</title>"
        "<body style='font-family:sans-serif;margin:2em'>"
        f"<h1 style='font-size:1.2em'>{html.escape(title)}</h1>"
        f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _preview_host() -> bytes:
    return urlsplit(settings.PREVIEW_ORIGIN).netloc.encode().lower()


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return  # websockets of the candidate's app are not relayed (yet): refused
    headers = _headers(scope)
    viewer = _host_viewer(headers.get(b"host", b""))
    interview_id = await _allowed(viewer) if viewer is not None else None
    if interview_id is None:
        await _plain(
            send, 403, "Not allowed",
            "Open the preview from the interview room or console (this address is not "
            "valid, has expired, or is not yours any more).",
        )  # fmt: skip
        return
    try:
        live = await asyncio.get_running_loop().run_in_executor(
            None, manager().ensure, interview_id
        )
    except PreviewUnavailable as exc:
        await _plain(send, 503, "The preview is not available", str(exc))
        return
    status = live.session.status()
    if status.state != "running":
        tail = "\n".join(live.session.logs.tail(20))
        await _plain(send, 503, f"The app is {status.state}", f"{status.detail}\n\n{tail}")
        return
    live.last_seen = time.monotonic()
    await relay(str(live.session.app_socket), scope, receive, send)


def _host_viewer(host: bytes) -> Viewer | None:
    """The viewer a `<label>.<preview host>` names; None for any other host (a rebound
    DNS name pointing at this port is not a preview origin)."""
    base = _preview_host()
    host = host.lower()
    if not host.endswith(b"." + base):
        return None
    label = host[: -len(base) - 1]
    if b"." in label:
        return None
    return read_label(label.decode("ascii", "replace"))


async def _allowed(viewer: Viewer) -> int | None:
    key = f"{viewer.interview_id}:{viewer.invite_id}:{viewer.user_id}"
    hit = _checked.get(key)
    if hit is not None and time.monotonic() - hit[1] < RECHECK_SECONDS:
        return hit[0]
    interview = await database_sync_to_async(services.viewer_interview)(viewer)
    if interview is None:
        _checked.pop(key, None)
        return None
    _checked[key] = (interview.pk, time.monotonic())
    return interview.pk


def _forwarded_cookies(value: bytes) -> bytes | None:
    jar = SimpleCookie()
    try:
        jar.load(value.decode("latin-1"))
    except Exception:
        return None
    kept = [f"{name}={m.coded_value}" for name, m in jar.items() if name not in PLATFORM_COOKIES]
    return "; ".join(kept).encode() if kept else None


def _response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in headers:
        name = name.lower()
        if name in HOP_BY_HOP - {b"content-length"}:
            continue
        if name == b"set-cookie":
            # Host-only, whatever the app asked: a Domain= cookie would reach the
            # platform's host too (cookie tossing onto the interviewer's session).
            parts = [p for p in value.split(b";") if not p.strip().lower().startswith(b"domain")]
            value = b";".join(parts)
        if name == b"content-security-policy":
            continue  # ours below; the app may not loosen it
        out.append((name, value))
    out.append((b"content-security-policy", CSP))
    return out


async def relay(socket_path: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Forward one request to the app on `socket_path`; stream its answer back."""
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    headers = [(b"host", _headers(scope).get(b"host", _preview_host()))]
    for name, value in scope.get("headers", []):
        name = bytes(name).lower()
        if name in HOP_BY_HOP:
            continue
        if name == b"cookie":
            kept = _forwarded_cookies(bytes(value))
            if kept:
                headers.append((b"cookie", kept))
            continue
        headers.append((name, bytes(value)))
    headers.append((b"connection", b"close"))
    has_length = any(k.lower() == b"content-length" for k, _ in scope.get("headers", []))
    length = next((v for k, v in scope.get("headers", []) if k.lower() == b"content-length"), None)
    if has_length and length is not None:
        headers.append((b"content-length", bytes(length)))
    elif scope["method"] not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        headers.append((b"transfer-encoding", b"chunked"))
    try:
        reader, writer = await asyncio.open_unix_connection(socket_path)
    except OSError as exc:
        await _plain(send, 502, "The app cannot be reached", str(exc))
        return
    conn = h11.Connection(our_role=h11.CLIENT)
    started = False
    try:
        writer.write(conn.send(h11.Request(method=scope["method"], target=target, headers=headers)))
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            if body:
                writer.write(conn.send(h11.Data(data=body)))
                await writer.drain()
            if not message.get("more_body"):
                break
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        hang_up = asyncio.ensure_future(_disconnected(receive))
        try:
            started = await _stream_back(conn, reader, send, hang_up)
        finally:
            hang_up.cancel()
    except (h11.RemoteProtocolError, h11.LocalProtocolError, ConnectionError, OSError) as exc:
        if not started:
            await _plain(send, 502, "The app broke off its answer", str(exc))
    finally:
        # Closing our end is what tells the app its client left.
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream_back(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    send: Send,
    hang_up: asyncio.Future[Any],
) -> bool:
    """Relay the response; True once its head was sent. Returns early on a hang-up."""
    started = False
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            read: asyncio.Future[Any] = asyncio.ensure_future(reader.read(READ_CHUNK))
            waiting: set[asyncio.Future[Any]] = {read, hang_up}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if hang_up in done:
                read.cancel()
                return started
            conn.receive_data(read.result())
            continue
        if isinstance(event, h11.Response):
            await send(
                {
                    "type": "http.response.start",
                    "status": event.status_code,
                    "headers": _response_headers(list(event.headers)),
                }
            )
            started = True
        elif isinstance(event, h11.Data):
            await send({"type": "http.response.body", "body": bytes(event.data), "more_body": True})
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            if started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return started
        elif isinstance(event, h11.InformationalResponse):
            continue
