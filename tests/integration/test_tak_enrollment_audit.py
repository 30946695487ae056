"""Enrollment's trail in the audit log as auditors read it, on both backends (the enrollment
app through the ASGI test client; its TLS is tested end to end in tests/e2e): the auditors of
the user's organization read the enrollment and the refused attempts against their users,
another organization's auditors read none of them, and no entry holds a password."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.tak import enrollment
from tests.factories import Caller, caller
from tests.tak_fixtures import with_ca

PASSWORD = "correct horse battery"


def _request() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anyone")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER))


def _entries(client: TestClient, auditor: Caller) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/audit", params={"limit": 200}, headers=auditor.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def test_auditors_read_their_organization_s_enrollments_and_refusals(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    with_ca(platform, tmp_path)
    staff = caller(platform, "IDN", Role.STAFF_OFFICER, password=PASSWORD)
    idn_auditor = caller(platform, "IDN", Role.AUDITOR)
    usa_auditor = caller(platform, "USA", Role.AUDITOR)
    with TestClient(enrollment.create_app(platform)) as tak:
        signed = tak.post(
            "/Marti/api/tls/signClient/v2?clientUid=ANDROID-9",
            content=_request(),
            auth=(staff.username, PASSWORD),
        )
        assert signed.status_code == 200, signed.text
        wrong = tak.post(
            "/Marti/api/tls/signClient/v2?clientUid=ANDROID-9",
            content=_request(),
            auth=(staff.username, "a guess at it"),
        )
        assert wrong.status_code == 401
        unknown = tak.get("/Marti/api/tls/config", auth=("nobody-at-all", "a guess at it"))
        assert unknown.status_code == 401

    seen = _entries(client, idn_auditor)
    actions = {(e["action"], e["entity"]) for e in seen}
    assert {("enroll", "tak_certificates"), ("refuse", "users")} <= actions
    assert ("create", "cot_devices") in actions  # the new device, registered to IDN
    refusal = next(json.loads(e["changes"]) for e in seen if e["action"] == "refuse")
    assert refusal["username"] == staff.username
    assert refusal["reason"] == "wrong user name or password"
    assert not any("nobody-at-all" in e["changes"] for e in seen)  # an unknown name: the CLI's
    others = _entries(client, usa_auditor)
    assert not [
        e
        for e in others
        if e["entity"] in ("tak_certificates", "cot_devices", "users")
        and e["action"] in ("enroll", "refuse", "create")
        and "ANDROID-9" in e["changes"]
    ]
    assert not [e for e in others if e["action"] in ("enroll", "refuse")]
    everything = " ".join(e["changes"] for e in seen + others)
    assert "a guess at it" not in everything and PASSWORD not in everything
