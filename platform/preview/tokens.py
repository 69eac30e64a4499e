"""Preview tokens: who may see which interview's preview, signed, short-lived.

The platform page hands its iframe a token in the URL of the preview origin's
/_faultline/enter; that page turns it into a cookie of the preview origin (the
platform's own cookies never reach that host), and every request there is checked
against it. A token names the interview and the viewer (the candidate's invite, or
an interviewer's user id), so a revoked invite or a removed interviewer loses the
preview at the next check, and one interview's token opens no other's preview.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SALT = "faultline.preview"
# The link in the iframe's URL: used at once, so a copied one soon stops working.
ENTER_SECONDS = 120
# The cookie it becomes: as long as an interview lasts; each request re-checks the viewer.
COOKIE_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Viewer:
    interview_id: int
    invite_id: int | None = None  # the candidate
    user_id: int | None = None  # an interviewer


def token_for(viewer: Viewer, *, purpose: str = "enter") -> str:
    payload = {"i": viewer.interview_id, "c": viewer.invite_id, "u": viewer.user_id, "p": purpose}
    return signing.dumps(payload, salt=SALT, compress=True)


def read_token(token: str, *, purpose: str) -> Viewer | None:
    max_age = ENTER_SECONDS if purpose == "enter" else COOKIE_SECONDS
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict) or payload.get("p") != purpose:
        return None
    interview, invite, user = payload.get("i"), payload.get("c"), payload.get("u")
    if not isinstance(interview, int) or (invite is None) == (user is None):
        return None
    if not isinstance(invite or user, int):
        return None
    return Viewer(interview, invite, user)
