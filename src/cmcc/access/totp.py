"""The TOTP second factor (RFC 6238: 6 digits, 30-second steps, SHA-1, as authenticator apps
expect): enrolment, confirmation with a first code, checking a code at sign-in, removal.

- The secret is stored encrypted (Fernet) under a key derived from CMCC_SECRET_KEY (HKDF), so
  a copy of the database alone does not give the codes. Changing the secret key makes every
  user enrol again (as it ends every token).
- A code is accepted in its 30-second step and in the step before or after it (a clock up to
  about 30 seconds off), and never twice: the last step accepted is kept, and a code of that
  step or an earlier one is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from cmcc.access.models import TotpFactor, User
from cmcc.core.clock import utcnow
from cmcc.core.errors import Conflict, InvalidInput, NotFound

ISSUER = "CMCC"
DRIFT_STEPS = 1  # the step before and the step after the current one
STEP_SECONDS = 30


@dataclass(frozen=True)
class Enrolment:
    """Shown once, to the user enrolling: the secret, its otpauth URI and that URI's QR code."""

    secret: str
    uri: str
    qr_svg: str


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cmcc totp secret").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _secret_of(factor: TotpFactor, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(factor.secret.encode()).decode()
    except InvalidToken:
        raise Conflict(
            "the second factor cannot be read with this server's secret key (was "
            "CMCC_SECRET_KEY changed?): an administrator resets it, then enrol again"
        ) from None


def factor_of(session: Session, user_id: int) -> TotpFactor | None:
    return session.get(TotpFactor, user_id)


def has_confirmed(session: Session, user_id: int) -> bool:
    factor = factor_of(session, user_id)
    return factor is not None and factor.confirmed_at is not None


def qr_svg(text: str) -> str:
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", scale=5, border=4, xmldecl=False, title="QR code for your app"
    )
    return out.getvalue().decode()


def enrol(session: Session, user: User, secret_key: str) -> Enrolment:
    """A new secret for the user, to confirm with a code; replaces an unconfirmed one.
    409 when the user already has a confirmed second factor (remove it first)."""
    factor = factor_of(session, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("you already have a second factor; remove it before enrolling another")
    secret = pyotp.random_base32()
    sealed = _fernet(secret_key).encrypt(secret.encode()).decode()
    if factor is None:
        session.add(TotpFactor(user_id=user.id, secret=sealed, created_at=utcnow()))
    else:
        factor.secret, factor.created_at, factor.last_step = sealed, utcnow(), None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(secret, uri, qr_svg(uri))


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step whose code this is, within the drift window; None if none."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def well_formed(code: str | None) -> bool:
    return code is not None and len(code) == 6 and code.isascii() and code.isdigit()


def accept(session: Session, user_id: int, code: str, secret_key: str, *, spend: bool) -> bool:
    """Whether `code` is the user's current code and not used before; with `spend`, it is
    used now (its step remembered). A user without a factor has no code to accept."""
    factor = (
        session.get(TotpFactor, user_id, with_for_update=True, populate_existing=True)
        if spend  # two sign-ins with one code: the second waits, then sees it spent
        else factor_of(session, user_id)
    )
    if factor is None or not well_formed(code):
        return False
    step = _matching_step(_secret_of(factor, secret_key), code, utcnow())
    if step is None or (factor.last_step is not None and step <= factor.last_step):
        return False
    if spend:
        factor.last_step = step
        session.flush()
    return True


def accept_again(session: Session, user_id: int, code: str, secret_key: str) -> bool:
    """Whether `code` is a current code of the user, used or not (for the requests of a TAK
    enrollment around the one that spends it: they give nothing away)."""
    factor = factor_of(session, user_id)
    if factor is None or factor.confirmed_at is None or not well_formed(code):
        return False
    return _matching_step(_secret_of(factor, secret_key), code, utcnow()) is not None


def confirm(session: Session, user: User, code: str, secret_key: str) -> None:
    """The first code from the app: the factor is on from now (422 on `body.code` if wrong)."""
    factor = factor_of(session, user.id)
    if factor is None:
        raise NotFound("no second factor is being enrolled: start with POST /api/v1/account/totp")
    if factor.confirmed_at is not None:
        raise Conflict("the second factor is already confirmed")
    if not accept(session, user.id, code, secret_key, spend=True):
        raise InvalidInput.field(
            "body.code", "wrong code: type the 6 digits the app shows now (is its clock right?)"
        )
    factor.confirmed_at = utcnow()
    session.flush()


def remove(session: Session, user: User) -> bool:
    """Remove the user's second factor (confirmed or not); False if there was none."""
    factor = factor_of(session, user.id)
    if factor is None:
        return False
    session.delete(factor)
    session.flush()
    return True
