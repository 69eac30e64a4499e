"""Preview hosts: who may see which interview's preview, as the host name it is served at.

Each viewer gets an origin of their own, `<label>.<preview host>`, where the label names
the interview and the viewer (the candidate's invite, or an interviewer's user id), an
expiry and a MAC over them. No cookie is needed (the iframe is cross-site to the
platform, where browsers withhold cookies), the platform's cookies never go to those
hosts, and one viewer's or one interview's preview is a different origin from any
other's, so nothing of one app's pages can read another's. Every request re-checks the
viewer (a revoked invite, a removed interviewer or an ended interview loses it).

A label is a DNS label (at most 63 characters, case-insensitive): production needs a
wildcard DNS name and certificate for `*.<preview host>` (docs/live.md); in development
`*.preview.localhost` resolves to this machine in browsers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from django.conf import settings

# A host is good for this long; pages ask for a fresh one as they poll.
LIFETIME_HOURS = 8
_LABEL = re.compile(r"^i(\d{1,12})-([cu])(\d{1,12})-(\d{1,8})-([a-z2-7]{20})$")


@dataclass(frozen=True)
class Viewer:
    interview_id: int
    invite_id: int | None = None  # the candidate
    user_id: int | None = None  # an interviewer


def _mac(payload: str) -> str:
    key = hashlib.sha256(b"faultline.preview:" + settings.SECRET_KEY.encode()).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:20]


def label_for(viewer: Viewer, now: float | None = None) -> str:
    who = f"c{viewer.invite_id}" if viewer.invite_id is not None else f"u{viewer.user_id}"
    hour = int((now if now is not None else time.time()) // 3600)
    payload = f"i{viewer.interview_id}-{who}-{hour + LIFETIME_HOURS}"
    return f"{payload}-{_mac(payload)}"


def read_label(label: str, now: float | None = None) -> Viewer | None:
    match = _LABEL.match(label.lower())
    if match is None:
        return None
    interview, kind, ident, expires, mac = match.groups()
    payload = f"i{interview}-{kind}{ident}-{expires}"
    if not hmac.compare_digest(mac, _mac(payload)):
        return None
    if int(expires) * 3600 < (now if now is not None else time.time()):
        return None
    if kind == "c":
        return Viewer(int(interview), invite_id=int(ident))
    return Viewer(int(interview), user_id=int(ident))
