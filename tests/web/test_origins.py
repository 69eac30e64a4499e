"""Which pages may use the site with its visitors' cookies: websockets and forms agree.

The session cookie reaches every port of the host, so a page on another port (or
over another scheme) must be refused by origin, before anyone's cookie is looked at.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from faultline.asgi import application
from faultline.env import ConfigError, env_origins
from interviews.models import Interview
from tests.web.conftest import candidate_client, client_for
from web.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

SERVED = "127.0.0.1:8000"  # the Host header: where the page and the socket are served
EXTRA = "https://interviews.example.com"  # an origin the operator configured
# (origin the page came from, accepted?)
ORIGINS = [
    ("http://127.0.0.1:8000", True),  # the served origin
    ("http://127.0.0.1:8899", False),  # another port of the same host
    ("http://localhost:1234", False),  # another host name and port
    ("http://localhost:8000", False),  # the same machine, another origin
    ("https://127.0.0.1:8000", False),  # another scheme
    ("http://127.0.0.1", False),  # the default port is another port
    ("http://evil.example", False),
    ("null", False),  # a sandboxed iframe or a file:// page
    (None, False),  # no Origin header at all
    (EXTRA, True),
]


@pytest.fixture(autouse=True)
def configured_origin(settings: Any) -> None:
    settings.FAULTLINE_ORIGINS = [EXTRA]
    settings.CSRF_TRUSTED_ORIGINS = [EXTRA]


def cookie_of(client: Client) -> str:
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())


def socket_opens(path: str, client: Client, origin: str | None, host: str = SERVED) -> bool:
    """Open `path` as `client` from a page at `origin`; True if it opened and sent the state."""

    async def scenario() -> bool:
        headers = [(b"host", host.encode()), (b"cookie", cookie_of(client).encode())]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await comm.connect(timeout=5)
        if connected:
            state = json.loads(await comm.receive_from(timeout=5))
            assert state["type"] == "state"
        else:
            assert await comm.receive_nothing(timeout=0.1), "a refused socket sent data"
        await comm.disconnect()
        return connected

    return async_to_sync(scenario)()


def people(interview_and_token: tuple[Interview, str], personas: dict[str, Any]) -> dict:
    interview, token = interview_and_token
    return {
        "console": (f"/ws/console/{interview.pk}/", client_for(personas["interviewer"])),
        "room": (
            "/ws/room/",
            candidate_client(token),
        ),
    }


@pytest.mark.parametrize(("origin", "accepted"), ORIGINS)
def test_sockets_open_only_from_the_served_or_a_configured_origin(
    interview_and_token: tuple[Interview, str],
    personas: dict[str, Any],
    origin: str | None,
    accepted: bool,
) -> None:
    # With the interviewer's and the candidate's own cookies: the origin decides alone.
    for name, (path, client) in people(interview_and_token, personas).items():
        assert socket_opens(path, client, origin) is accepted, (name, origin)


@pytest.mark.parametrize("origin", [o for o, ok in ORIGINS if not ok])
def test_the_outsider_is_refused_by_origin_on_every_route(
    personas: dict[str, Any], origin: str | None
) -> None:
    # Every websocket route, even one whose consumer would refuse the outsider
    # anyway and one that does not exist: the origin check stands in front of routing.
    outsider = client_for(personas["outsider"])
    paths = [str(p.pattern).replace("<int:interview_id>", "1") for p in websocket_urlpatterns] + [
        "ws/not-a-route/"
    ]
    assert len(paths) >= 3
    for path in paths:
        assert socket_opens(f"/{path}", outsider, origin) is False, path


def test_a_host_that_is_not_allowed_is_refused_even_from_its_own_origin(
    interview_and_token: tuple[Interview, str], personas: dict[str, Any]
) -> None:
    # A rebound DNS name: the page and the socket agree, but the name is not ours.
    path, client = people(interview_and_token, personas)["console"]
    assert not socket_opens(path, client, "http://evil.example:8000", host="evil.example:8000")
    assert socket_opens(path, client, "http://127.0.0.1:8000")


@pytest.mark.parametrize(("origin", "accepted"), ORIGINS)
def test_forms_follow_the_same_rule_as_sockets(
    interview_and_token: tuple[Interview, str],
    personas: dict[str, Any],
    origin: str | None,
    accepted: bool,
) -> None:
    interview, _ = interview_and_token
    # Without an Origin header, plain-HTTP forms fall back to the CSRF token alone
    # (old browsers); sockets have no token, so they refuse it. Every origin a
    # browser does send is judged the same way by both.
    form_accepted = accepted if origin is not None else True
    client = Client(enforce_csrf_checks=True, HTTP_HOST=SERVED)
    client.force_login(personas["interviewer"])
    client.get("/interviews/")  # the dashboard sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    headers = {"HTTP_X_CSRFTOKEN": token}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    response = client.post(f"/interviews/{interview.pk}/invite/revoke", **headers)  # type: ignore[arg-type]

    revoked = interview.invites.filter(revoked_at__isnull=False).exists()
    assert revoked is form_accepted, (origin, response.status_code)
    assert response.status_code == (302 if form_accepted else 403)


def test_origins_setting_accepts_origins_and_names_a_bad_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("X_ORIGINS", "HTTPS://Interviews.Example.com, http://127.0.0.1:8000/")
    assert env_origins("X_ORIGINS") == [
        "https://interviews.example.com",
        "http://127.0.0.1:8000",
    ]
    for bad in ["interviews.example.com", "https://*.example.com", "https://x.example/app"]:
        monkeypatch.setenv("X_ORIGINS", f"https://ok.example,{bad}")
        with pytest.raises(ConfigError, match=r"X_ORIGINS: .* is not an origin"):
            env_origins("X_ORIGINS")
