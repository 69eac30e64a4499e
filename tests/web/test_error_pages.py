"""Errors use the site's own pages, say what is wrong and offer a way back."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.views import defaults

from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


def assert_site_page(html: str, status: int) -> None:
    assert 'data-testid="error-page"' in html and f'data-status="{status}"' in html
    assert "web/app.css" in html  # styled like every other page
    assert 'href="/" data-testid="way-back"' in html


def test_an_interviewer_opening_review_gets_the_sites_403(personas: dict[str, Any]) -> None:
    response = client_for(personas["interviewer"]).get("/review/")
    html = response.content.decode()
    assert response.status_code == 403
    assert_site_page(html, 403)
    assert "You need the hiring manager role to see reviews." in html
    assert "Signed in as ivy" in html


def test_an_unknown_page_and_another_interviewers_interview_get_the_sites_404(
    personas: dict[str, Any],
) -> None:
    client = client_for(personas["interviewer"])
    for url in ["/no-such-page/", "/interviews/999999/"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert_site_page(response.content.decode(), 404)


def test_a_server_error_and_a_bad_request_get_the_sites_pages() -> None:
    request = RequestFactory().get("/")
    failed = defaults.server_error(request)
    assert failed.status_code == 500
    assert_site_page(failed.content.decode(), 500)
    assert "your saved work is kept" in failed.content.decode()
    bad = defaults.bad_request(request, ValueError("x"))
    assert bad.status_code == 400
    assert_site_page(bad.content.decode(), 400)


def test_a_form_sent_with_a_stale_csrf_token_gets_the_sites_page(
    personas: dict[str, Any],
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["interviewer"])
    response = client.post("/interviews/schedule", {})
    assert response.status_code == 403
    assert_site_page(response.content.decode(), 403)
    assert "This form has expired" in response.content.decode()
