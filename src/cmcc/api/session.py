"""The browser session: a token in an HttpOnly cookie, and the CSRF token derived from it.

Browsers authenticate with the same API tokens as other clients, carried in the cookie
``cmcc_session`` (HttpOnly, SameSite=Strict) instead of the Authorization header. Every write
made with the cookie must also send ``X-CSRF-Token`` (scripts) or a ``csrf_token`` form field,
equal to HMAC(secret key, token): a page of ours can read it, another site cannot.
"""

from __future__ import annotations

import hashlib
import hmac

SESSION_COOKIE = "cmcc_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def csrf_token(session_token: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), b"csrf\x00" + session_token.encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_matches(session_token: str, secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_token(session_token, secret), presented
    )
