"""Public tips with rewards: submission with a proof of work, the claim code, photos stripped of
metadata, refusals that store nothing, triage with fraud signals, and rewards with four eyes
and a payout that works once."""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.tips.challenge import solve
from cmcc.tips.models import Tip, TipPhoto
from tests.factories import caller

GAZA_CITY = (34.45, 31.517)
CODE_FORMAT = re.compile(r"^\d{4}( \d{4}){4}$")


def proof(client: TestClient) -> dict[str, str]:
    """A fresh challenge and its solution, as the page's script finds it."""
    ch = client.get("/public/tips/challenge").json()
    return {"challenge": ch["challenge"], "counter": solve(ch["challenge"], ch["bits"])}


def send_tip(client: TestClient, **fields: Any) -> Any:
    body = {"text": "Remains under the rubble of a house", "lon": 34.45, "lat": 31.517}
    body.update(fields)
    return client.post("/public/tips", json={**body, **proof(client)})


def status_of(client: TestClient, code: str) -> Any:
    return client.post("/public/tips/status", json={"code": code, **proof(client)})


def photo_with_gps(color: str = "red") -> bytes:
    image = Image.new("RGB", (64, 48), color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:03:01 10:00:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 31.0, 1.2)
    gps[3], gps[4] = "E", (34.0, 27.0, 3.4)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def bomb() -> bytes:
    """A small file of 48 million pixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")
    return out.getvalue()


def tip_count(platform: Platform) -> int:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return int(s.scalar(select(func.count()).select_from(Tip)) or 0)


def officer(platform: Platform, role: Role = Role.TIP_OFFICER) -> dict[str, str]:
    return caller(platform, "CMCC", role).headers


def test_a_tip_with_a_photo_is_stored_without_metadata(
    platform: Platform, client: TestClient
) -> None:
    raw = photo_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload carries GPS
    r = client.post(
        "/public/tips",
        data={"text": "Two bodies seen", "place": "beside the school", **proof(client)},
        files={"photo": ("p.jpg", raw, "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    assert CODE_FORMAT.match(r.json()["claim_code"])
    assert r.json()["status"] == "received"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert "set-cookie" not in r.headers

    tips = client.get("/api/v1/tips", headers=officer(platform)).json()
    tip = tips["data"][0]
    assert tip["text"] == "Two bodies seen" and tip["place"] == "beside the school"
    assert tip["location"] is None and tip["owner"] == "CMCC" and tip["releasability"] == "owner"
    assert not {"claim_hash", "locator", "claim_code"} & set(tip)
    stored = client.get(tip["photo_url"], headers=officer(platform))
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    clean = Image.open(io.BytesIO(stored.content))
    assert clean.size == (64, 48)
    assert not clean.getexif() and "exif" not in clean.info
    assert b"Exif" not in stored.content and b"PhoneMaker" not in stored.content


def test_the_claim_code_opens_the_status_and_nothing_else_does(
    platform: Platform, client: TestClient
) -> None:
    code = send_tip(client).json()["claim_code"]
    r = status_of(client, code)
    assert r.status_code == 200 and r.json() == {"status": "received", "reward": None}
    assert r.headers["cache-control"] == "no-store"
    # typed without spaces, or in Arabic-Indic digits
    assert status_of(client, code.replace(" ", "")).json()["status"] == "received"
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert status_of(client, arabic).json()["status"] == "received"

    digits = code.replace(" ", "")
    wrong = digits[:6] + ("0" if digits[6] != "0" else "1") + digits[7:]  # same locator
    unknown = ("9" if digits[0] != "9" else "8") + digits[1:]
    answers = [status_of(client, c) for c in (wrong, unknown)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].content == answers[1].content
    assert answers[0].headers["content-type"] == answers[1].headers["content-type"]


def test_one_proof_of_work_buys_one_status_check(client: TestClient) -> None:
    pow_ = proof(client)
    first = client.post("/public/tips/status", json={"code": "1" * 20, **pow_})
    again = client.post("/public/tips/status", json={"code": "2" * 20, **pow_})
    assert first.status_code == 404
    assert again.status_code == 409 and again.json()["type"].endswith("challenge-used")


def test_bad_input_is_refused_and_stores_nothing(platform: Platform, client: TestClient) -> None:
    before = tip_count(platform)
    too_big = b"\xff\xd8" + b"0" * platform.settings.tip_photo_max_bytes
    cases = [
        ("oversized photo", {"photo": ("a.jpg", too_big, "image/jpeg")}, {}, 413),
        ("not an image", {"photo": ("a.jpg", b"%PDF-1.4 not a photo", "image/jpeg")}, {}, 422),
        ("decompression bomb", {"photo": ("b.png", bomb(), "image/png")}, {}, 422),
        ("too long text", None, {"text": "x" * 2001}, 422),
        ("no place", None, {"lon": "", "lat": ""}, 422),
        ("outside the area", None, {"lon": "2.35", "lat": "48.85"}, 422),
    ]
    for name, files, over, code in cases:
        fields = {"text": "seen", "lon": "34.45", "lat": "31.517", **proof(client), **over}
        fields = {k: v for k, v in fields.items() if v != ""}
        r = client.post("/public/tips", data=fields, files=files)
        assert r.status_code == code, (name, r.text)
        assert r.headers["content-type"] == "application/problem+json", name

    bad_work = proof(client)
    bad_work["counter"] = str(int(bad_work["counter"]) + 1)
    r = client.post("/public/tips", json={"text": "seen", "place": "x", **bad_work})
    assert r.status_code == 422 and "proof of work" in r.text
    forged = proof(client)
    forged["challenge"] = forged["challenge"][:-1] + (
        "0" if forged["challenge"][-1] != "0" else "1"
    )
    r = client.post("/public/tips", json={"text": "seen", "place": "x", **forged})
    assert r.status_code == 422
    assert tip_count(platform) == before

    pow_ = proof(client)
    assert client.post("/public/tips", json={"text": "a", "place": "x", **pow_}).status_code == 201
    replay = client.post("/public/tips", json={"text": "b", "place": "x", **pow_})
    assert replay.status_code == 409
    assert tip_count(platform) == before + 1


def test_the_global_rate_limit_keeps_no_address(platform: Platform, client: TestClient) -> None:
    platform.settings.tip_rate_per_hour = 2
    assert send_tip(client).status_code == 201
    assert send_tip(client).status_code == 201
    third = send_tip(client)
    assert third.status_code == 429 and third.json()["type"].endswith("too-many-tips")
    assert tip_count(platform) == 2


def test_the_page_is_arabic_first_self_contained_and_escapes_what_was_sent(
    platform: Platform, client: TestClient
) -> None:
    page = client.get("/public/tips")
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text and "<svg" in page.text
    assert "What did you see?" in page.text and "ماذا رأيت؟" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert not re.search(r"\ssrc=", page.text)  # no external script, image or frame
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'nonce-" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers

    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = client.post(
        "/public/tips",
        data={"text": script, "place": "<b>here</b>", **proof(client)},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 201 and r.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in r.text
    assert script not in r.text and "<b>here</b>" not in r.text
    code = re.search(r'class="code">([\d ]+)<', r.text)
    assert code and CODE_FORMAT.match(code.group(1))
    stored = client.get("/api/v1/tips", headers=officer(platform)).json()["data"][0]
    assert stored["text"] == script  # stored as given, escaped where it is shown

    refused = client.post(
        "/public/tips",
        data={"text": script, **proof(client)},  # no place, no point
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("text/html")
    status = client.post(
        "/public/tips/status",
        data={"code": code.group(1), **proof(client)},
        headers={"Accept": "text/html"},
    )
    assert status.status_code == 200 and "received" in status.text


def test_the_audit_log_names_no_one_and_holds_no_code(
    platform: Platform, client: TestClient
) -> None:
    code = send_tip(client, text="a secret sighting").json()["claim_code"]
    with platform.unit_of_work(Principal.system_operator()) as s:
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.entity == "tips").order_by(AuditEntry.seq)
            )
        )
    assert [e.actor for e in entries] == ["anonymous"]
    changes = entries[0].changes
    assert code.replace(" ", "") not in changes and code[:6] not in changes.replace(" ", "")
    assert "a secret sighting" not in changes and "argon2" not in changes
    assert '"claim_hash":"<redacted>"' in changes


def _recovery_setup(platform: Platform, client: TestClient) -> tuple[dict[str, str], int, int]:
    rec = officer(platform, Role.RECOVERY_OFFICER)
    point = {"type": "Point", "coordinates": [34.46, 31.52]}
    task = client.post("/api/v1/search-tasks", headers=rec, json={"geometry": point})
    assert task.status_code == 201, task.text
    recovery = client.post(
        "/api/v1/recoveries",
        headers=rec,
        json={
            "geometry": point,
            "recovered_at": "2026-01-05T10:00:00Z",
            "remains_found": 1,
            "remains_recovered": 1,
        },
    )
    assert recovery.status_code == 201, recovery.text
    return rec, task.json()["id"], recovery.json()["id"]


def test_fraud_signals_in_the_queue(platform: Platform, client: TestClient) -> None:
    _recovery_setup(platform, client)
    photo = photo_with_gps("blue")
    ids = []
    for lon in (34.46, 34.4605, 34.30):
        r = client.post(
            "/public/tips",
            data={"text": "remains", "lon": str(lon), "lat": "31.52", **proof(client)},
            files={"photo": ("p.jpg", photo, "image/jpeg")},
        )
        assert r.status_code == 201, r.text
    tips = client.get("/api/v1/tips", headers=officer(platform)).json()["data"]
    ids = [t["id"] for t in tips]
    first, second, far = tips
    assert first["signals"]["nearby_tips"] == [ids[1]]
    assert second["signals"]["nearby_tips"] == [ids[0]]
    assert far["signals"]["nearby_tips"] == []
    assert first["signals"]["recoveries_nearby"] == 1  # remains already recovered there
    assert far["signals"]["recoveries_nearby"] == 0
    assert first["signals"]["same_photo_tips"] == [ids[1], ids[2]]
    with platform.unit_of_work(Principal.system_operator()) as s:
        assert len(set(s.scalars(select(TipPhoto.sha256)))) == 1


def test_triage_and_permissions(platform: Platform, client: TestClient) -> None:
    tip_id = client.get("/api/v1/tips", headers=officer(platform)).json()["count"]
    assert tip_id == 0
    send_tip(client)
    send_tip(client)
    first, dup = (
        t["id"] for t in client.get("/api/v1/tips", headers=officer(platform)).json()["data"]
    )
    staff = officer(platform, Role.STAFF_OFFICER)
    assert client.get("/api/v1/tips", headers=officer(platform, Role.AUDITOR)).status_code == 403
    assert client.get("/api/v1/tips").status_code == 401
    other = caller(platform, "GBR", Role.TIP_OFFICER).headers
    assert client.get(f"/api/v1/tips/{first}", headers=other).status_code == 404
    r = client.patch(
        f"/api/v1/tips/{first}", headers=staff, json={"version": 1, "status": "under_review"}
    )
    assert r.status_code == 200 and r.json()["status"] == "under_review"
    r = client.post(
        f"/api/v1/tips/{dup}/outcome",
        headers=staff,
        json={"version": 1, "outcome": "duplicate", "duplicate_of": first},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["duplicate_of"] == first
    queue = client.get("/api/v1/tips", params={"status": "closed"}, headers=staff).json()
    assert [t["id"] for t in queue["data"]] == [dup]


def test_rewards_four_eyes_and_a_payout_that_works_once(
    platform: Platform, client: TestClient
) -> None:
    _, task_id, recovery_id = _recovery_setup(platform, client)
    code = send_tip(client, lon=34.46, lat=31.52).json()["claim_code"]
    nominator, approver = officer(platform), officer(platform)
    payer = officer(platform, Role.PAYOUT_OFFICER)
    tip_id = client.get("/api/v1/tips", headers=nominator).json()["data"][0]["id"]
    for link in ({"search_task_id": task_id}, {"recovery_id": recovery_id}):
        r = client.post(f"/api/v1/tips/{tip_id}/links", headers=nominator, json=link)
        assert r.status_code == 201, r.text
    tip = r.json()
    assert tip["search_task_ids"] == [task_id] and tip["recovery_ids"] == [recovery_id]
    assert tip["status"] == "under_review"
    reward_body = {"tip_id": tip_id, "amount": "500.00", "currency": "USD"}
    early = client.post("/api/v1/rewards", headers=nominator, json=reward_body)
    assert early.status_code == 409  # not before the outcome
    r = client.post(
        f"/api/v1/tips/{tip_id}/outcome",
        headers=nominator,
        json={"version": tip["version"], "outcome": "led_to_recovery"},
    )
    assert r.status_code == 200, r.text
    assert client.post("/api/v1/rewards", headers=payer, json=reward_body).status_code == 403
    reward = client.post("/api/v1/rewards", headers=nominator, json=reward_body).json()
    assert reward["status"] == "nominated" and reward["amount"] == "500.00"

    same = client.post(
        f"/api/v1/rewards/{reward['id']}/approval", headers=nominator, json={"version": 1}
    )
    assert same.status_code == 403 and "nominator" in same.json()["detail"]
    assert status_of(client, code).json()["reward"] is None  # not before approval
    ok = client.post(
        f"/api/v1/rewards/{reward['id']}/approval", headers=approver, json={"version": 1}
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    ready = status_of(client, code).json()["reward"]
    assert ready == {
        "amount": "500.00",
        "currency": "USD",
        "state": "ready_to_collect",
        "paid_on": None,
    }

    version = ok.json()["version"]
    path = f"/api/v1/rewards/{reward['id']}/payout"
    wrong = client.post(path, headers=payer, json={"version": version, "code": "1" * 20})
    assert wrong.status_code == 403
    assert (
        client.post(path, headers=approver, json={"version": version, "code": code}).status_code
        == 403
    )
    paid = client.post(path, headers=payer, json={"version": version, "code": code})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["paid_amount"] == "500.00"
    again = client.post(path, headers=payer, json={"version": paid.json()["version"], "code": code})
    assert again.status_code == 409
    after = client.get(f"/api/v1/rewards/{reward['id']}", headers=payer).json()
    assert after == paid.json()  # the replay changed nothing
    assert status_of(client, code).json()["reward"]["state"] == "paid"
    with platform.unit_of_work(Principal.system_operator()) as s:
        steps = list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "rewards")
                .order_by(AuditEntry.seq)
            )
        )
    assert steps == ["create", "update", "update"]  # nominated, approved, paid
