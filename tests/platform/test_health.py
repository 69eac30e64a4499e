"""GET /healthz reports each dependency and fails with 503 naming what is down."""

import pytest
from django.test import Client

from faultline import health


@pytest.mark.django_db
def test_healthz_reports_every_dependency(client: Client) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert set(body["checks"]) == {"database", "channel_layer", "task_queue", "sandbox"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True
    assert response.status_code == (200 if body["status"] == "ok" else 503)


@pytest.mark.django_db
def test_healthz_names_what_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise RuntimeError("engine is not running")

    monkeypatch.setitem(health.CHECKS, "sandbox", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["sandbox"]
    assert "engine is not running" in body["checks"]["sandbox"]["error"]
