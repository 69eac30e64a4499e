"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

_root = Path(__file__).resolve().parent.parent.parent
for _p in (str(_root / "platform"), str(_root)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faultline.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from faultline.origins import OriginValidator  # noqa: E402
from interviews.events import bind_loop  # noqa: E402
from web.routing import websocket_urlpatterns  # noqa: E402

_router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin check first, for every route: a page on another site, or on
        # another port of this host, must not open a socket that rides on our
        # session cookie (scheme, host and port are compared).
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope: dict, receive: Any, send: Any) -> None:
    # Remember the serving loop so broadcasts from grading threads reach it.
    bind_loop(asyncio.get_running_loop())
    await _router(scope, receive, send)
