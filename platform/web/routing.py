"""Websocket routes; faultline.asgi wraps them in the origin validator and auth middleware."""

from typing import Any

from django.urls import path

from web import consumers

websocket_urlpatterns: list[Any] = [
    path("ws/room/", consumers.CandidateConsumer.as_asgi()),
    path("ws/console/<int:interview_id>/", consumers.ConsoleConsumer.as_asgi()),
]
