"""The TOTP second factor: enrolment and confirmation, sign-in with, without and with a used
code (API and web form), the requirement by role, an administrator's reset; and the secret
kept out of the audit log and encrypted in the database."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pyotp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.access.models import TotpFactor
from cmcc.bootstrap import Platform
from cmcc.cli import app as cli_app
from cmcc.tak import enrollment
from tests.accounts import PASSWORD, audit_of, bearer, forget_failures, login, web_get, web_sign_in
from tests.factories import Caller, caller
from tests.serving import platform_env
from tests.tak_fixtures import with_ca


def csr() -> bytes:
    """A device's certificate signing request, as ATAK sends it (base64 of the DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, SHA256())
    return base64.b64encode(request.public_bytes(serialization.Encoding.DER))


def enrol(client: TestClient, who: Caller | dict[str, str]) -> pyotp.TOTP:
    return enrol_spending(client, who)[0]


def enrol_spending(client: TestClient, who: Caller | dict[str, str]) -> tuple[pyotp.TOTP, str]:
    """Enrol; the app and the code the confirmation spent (the time step may have moved on
    since, so the test cannot take `app.now()` for it)."""
    headers = who.headers if isinstance(who, Caller) else who
    made = client.post("/api/v1/account/totp", headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/CMCC:")
    assert body["qr_svg"].lstrip().startswith("<svg")
    app = pyotp.TOTP(body["secret"])
    wrong = client.post("/api/v1/account/totp/confirm", headers=headers, json={"code": "000000"})
    if app.now() != "000000":
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "body.code"
    spent = app.now()
    ok = client.post("/api/v1/account/totp/confirm", headers=headers, json={"code": spent})
    assert ok.status_code == 204, ok.text
    return app, spent


def later(app: pyotp.TOTP) -> str:
    """The code of the next time step (within the drift window, never used yet)."""
    return app.at(time.time() + 30)


def test_enrolment_then_sign_in_needs_a_fresh_code(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    app, spent = enrol_spending(client, staff)
    assert client.get("/api/v1/auth/me", headers=staff.headers).json()["second_factor"] is True
    assert client.post("/api/v1/account/totp", headers=staff.headers).status_code == 409

    without = login(client, staff.username, PASSWORD)
    assert without.status_code == 401 and without.json()["type"].endswith("totp-code-required")
    used = login(client, staff.username, PASSWORD, spent)
    assert used.status_code == 401 and used.json()["type"].endswith("totp-code-wrong")
    wrong = login(client, staff.username, PASSWORD, "12345")
    assert wrong.status_code == 401 and wrong.json()["type"].endswith("totp-code-wrong")
    bad_password = login(client, staff.username, "not the password", later(app))
    assert bad_password.status_code == 401
    assert bad_password.json()["detail"] == "wrong user name or password"
    forget_failures(platform)  # three failures in a row: the next attempt would wait
    code = later(app)
    signed_in = login(client, staff.username, PASSWORD, code)
    assert signed_in.status_code == 201, signed_in.text
    assert client.get("/api/v1/incidents", headers=bearer(signed_in.json()["token"])).is_success
    assert login(client, staff.username, PASSWORD, code).status_code == 401  # replayed

    status, _ = web_sign_in(client, staff.username, PASSWORD)
    assert status == 401
    status, _ = web_sign_in(client, staff.username, PASSWORD, code)
    assert status == 401

    with platform.unit_of_work(Principal.system_operator()) as s:
        stored = s.scalars(select(TotpFactor.secret)).one()
        log = " ".join(s.scalars(text("SELECT changes FROM audit_log")))  # type: ignore[call-overload]
    assert app.secret not in stored  # encrypted at rest
    assert app.secret not in log and stored not in log
    assert '"secret":"<redacted>"' in log


def test_the_web_form_signs_in_with_the_code(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    app = enrol(client, staff)
    status, cookie = web_sign_in(client, staff.username, PASSWORD, later(app))
    assert status == 303 and cookie
    page = web_get(client, cookie, "/account")
    assert page.status_code == 200 and 'id="totp-on"' in page.text
    removed = client.post(
        "/api/v1/account/totp/remove", headers=staff.headers, json={"password": "wrong"}
    )
    assert removed.status_code == 422
    removed = client.post(
        "/api/v1/account/totp/remove", headers=staff.headers, json={"password": PASSWORD}
    )
    assert removed.status_code == 204
    assert login(client, staff.username, PASSWORD).status_code == 201


def test_a_role_that_needs_a_second_factor_enrols_first(
    platform: Platform, client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(platform.settings, "totp_roles", ("liaison_officer",))
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER, password=PASSWORD)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    # A token the operator issued is not a sign-in: it works as before.
    assert client.get("/api/v1/incidents", headers=gbr.headers).status_code == 200
    assert login(client, staff.username, PASSWORD).status_code == 201

    token = login(client, gbr.username, PASSWORD).json()["token"]
    limited = bearer(token)
    assert client.get("/api/v1/auth/me", headers=limited).json()["must"] == "enrol_totp"
    refused = client.get("/api/v1/incidents", headers=limited)
    assert refused.status_code == 403 and refused.json()["type"].endswith("enrol-totp-first")
    status, cookie = web_sign_in(client, gbr.username, PASSWORD)
    assert status == 303 and cookie
    sent = web_get(client, cookie, "/incidents")
    assert sent.status_code == 303 and sent.headers["location"] == "/account"
    page = web_get(client, cookie, "/account")
    assert page.status_code == 200 and 'id="must-enrol"' in page.text

    app = enrol(client, limited)
    assert client.get("/api/v1/incidents", headers=limited).status_code == 200
    assert web_get(client, cookie, "/incidents").status_code == 200
    assert login(client, gbr.username, PASSWORD, later(app)).status_code == 201

    admin = caller(platform, "CMCC", Role.ADMIN)
    r = client.post(
        f"/api/v1/users/{gbr.username}/reset-totp",
        headers=admin.headers,
        json={"reason": "phone lost on patrol"},
    )
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me", headers=limited).status_code == 401  # sessions end
    assert client.get("/api/v1/incidents", headers=gbr.headers).status_code == 200  # issued
    again = login(client, gbr.username, PASSWORD).json()["token"]
    assert client.get("/api/v1/auth/me", headers=bearer(again)).json()["must"] == "enrol_totp"
    entry = next(e for e in audit_of(platform, gbr.username) if e.action == "reset_totp")
    assert entry.actor == f"{admin.username}@CMCC"
    # The limited session, the web session and the sign-in after enrolment.
    assert entry.changes == {"reason": "phone lost on patrol", "tokens_revoked": 3}

    enrol(client, bearer(again))
    env = platform_env(platform, tmp_path)
    done = CliRunner().invoke(
        cli_app, ["user", "reset-totp", gbr.username, "--reason", "new phone"], env=env
    )
    assert done.exit_code == 0, done.output
    assert client.get("/api/v1/auth/me", headers=bearer(again)).status_code == 401


def test_tak_enrollment_takes_the_code_after_the_password(
    platform: Platform, client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_ca(platform, tmp_path)
    staff = caller(platform, "IDN", Role.STAFF_OFFICER, password=PASSWORD)
    app = enrol(client, staff)
    code = later(app)
    with TestClient(enrollment.create_app(platform)) as tak:
        sign = "/Marti/api/tls/signClient/v2?clientUid=ANDROID-7"
        # ATAK's three requests carry the same credentials: only the signing spends the code.
        assert tak.get("/Marti/api/tls/config", auth=(staff.username, PASSWORD + code)).is_success
        signed = tak.post(sign, content=csr(), auth=(staff.username, PASSWORD + code))
        assert signed.status_code == 200, signed.text
        profile = "/Marti/api/tls/profile/enrollment"
        assert tak.get(profile, auth=(staff.username, PASSWORD + code)).status_code == 204
        replayed = tak.post(sign, content=csr(), auth=(staff.username, PASSWORD + code))
        assert replayed.status_code == 401
        assert tak.post(sign, content=csr(), auth=(staff.username, PASSWORD)).status_code == 401

        monkeypatch.setattr(platform.settings, "totp_roles", ("staff_officer",))
        other = caller(platform, "IDN", Role.STAFF_OFFICER, password=PASSWORD)
        must = tak.post(sign, content=csr(), auth=(other.username, PASSWORD))
        assert must.status_code == 403 and "second factor" in must.json()["detail"]
    reasons = [e.changes.get("reason") for e in audit_of(platform, staff.username)]
    assert "wrong or used code after the password" in reasons
