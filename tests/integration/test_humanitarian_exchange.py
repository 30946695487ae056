"""Exchange files of humanitarian notifications on both backends: GeoJSON and CSV as each
caller may see them (the contact only for the submitting organization and the centre), the
list's filters, and the sites as HXL 3W read back with libhxl (never a contact)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import hxl
from fastapi.testclient import TestClient

from cmcc.bootstrap import Platform
from tests.factories import Caller
from tests.humanitarian_fixtures import (
    SITE,
    Cast,
    movement_body,
    notify,
    ok,
    site_body,
    square,
    step,
)

EXPORT = "/api/v1/notifications/export"
CONTACTS = ("Omar Nasser", "+970 59 111 1111", "Amal Haddad", "a@wfp.example", "Lina Saleh")


def _picture(client: TestClient, cast: Cast) -> dict[str, Any]:
    """WFP's clinic (shared with the force and COGAT) and convoy (not shared), MSF's shelter."""
    clinic = notify(client, cast.partner, site_body())
    clinic = step(client, cast.centre, clinic, "shared", audiences=["force", "COGAT"])
    convoy = notify(client, cast.partner, movement_body())
    shelter = notify(
        client,
        cast.other,
        site_body(
            title="Al-Mawasi shelter",
            site_type="shelter",
            geometry=square(34.27, 31.33, 0.002),
            contact={"name": "Lina Saleh", "phone": "", "email": "lina@msf.example"},
        ),
    )
    return {"clinic": clinic, "convoy": convoy, "shelter": shelter}


def _csv(client: TestClient, who: Caller, **params: Any) -> list[dict[str, str]]:
    r = client.get(EXPORT, headers=who.headers, params={"format": "csv", **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def test_geojson_and_csv_as_each_caller_sees_them(platform: Platform, client: TestClient) -> None:
    cast = Cast(platform)
    made = _picture(client, cast)
    clinic, convoy, shelter = made["clinic"], made["convoy"], made["shelter"]

    centre = {row["ref"]: row for row in _csv(client, cast.centre)}
    assert set(centre) == {clinic["ref"], convoy["ref"], shelter["ref"]}
    assert centre[clinic["ref"]]["contact_name"] == "Omar Nasser"
    assert centre[shelter["ref"]]["contact_email"] == "lina@msf.example"
    assert centre[convoy["ref"]]["contact_phone"] == "'+970 59 000 0000"  # spreadsheet-safe
    assert centre[convoy["ref"]]["vehicles"] == "20"
    assert json.loads(centre[convoy["ref"]]["geometry"])["type"] == "LineString"
    row = centre[clinic["ref"]]
    assert (row["lon"], row["lat"]) == ("34.351700", "31.418900")
    assert centre[clinic["ref"]]["audiences"] == "force COGAT"

    partner = {row["ref"]: row for row in _csv(client, cast.partner)}
    assert set(partner) == {clinic["ref"], convoy["ref"]}
    assert partner[convoy["ref"]]["contact_name"] == "Amal Haddad"

    # The force and the party's liaison cell: the shared clinic only, without its contact.
    for reader in (cast.isf, cast.liaison):
        rows = _csv(client, reader)
        assert [r["ref"] for r in rows] == [clinic["ref"]]
        assert {rows[0][f"contact_{k}"] for k in ("name", "phone", "email")} == {""}
        r = client.get(EXPORT, headers=reader.headers)
        assert r.headers["content-type"].startswith("application/geo+json")
        assert not any(text in r.text for text in CONTACTS)
        doc = json.loads(r.text)
        (feature,) = doc["features"]
        assert feature["properties"]["ref"] == clinic["ref"] and feature["geometry"] == SITE
        assert feature["properties"]["contact"] is None

    # The list's filters.
    assert [r["ref"] for r in _csv(client, cast.partner, kind="movement")] == [convoy["ref"]]
    assert [r["ref"] for r in _csv(client, cast.partner, status="shared")] == [clinic["ref"]]
    # The convoy moves in three days: not active now; the clinic is.
    assert [r["ref"] for r in _csv(client, cast.partner, active="true")] == [clinic["ref"]]
    everything = json.loads(client.get(EXPORT, headers=cast.centre.headers).text)
    assert len(everything["features"]) == 3
    contacts = {f["properties"]["ref"]: f["properties"]["contact"] for f in everything["features"]}
    assert contacts[shelter["ref"]]["name"] == "Lina Saleh"
    assert client.get(EXPORT).json()["features"] == []  # anonymous: nothing is public


def test_a_new_version_replaces_the_old_one_in_the_file(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, site_body())
    body = site_body(title="Deir al-Balah field clinic (moved)")
    del body["kind"]
    body["version"] = n["version"]
    path = f"/api/v1/notifications/{n['lineage']}/versions"
    ok(client.post(path, headers=cast.partner.headers, json=body))
    rows = _csv(client, cast.partner)
    assert [(r["lineage"], r["title"]) for r in rows] == [
        (str(n["lineage"]), "Deir al-Balah field clinic (moved)")
    ]


def test_sites_as_hxl_3w(platform: Platform, client: TestClient, tmp_path: Path) -> None:
    cast = Cast(platform)
    made = _picture(client, cast)
    governorate = {
        "name": "Deir al-Balah governorate (notional)",
        "kind": "administrative_area",
        "geometry": square(34.35, 31.42, 0.03),
        "releasability": "public",
    }
    ok(client.post("/api/v1/zones", headers=cast.centre.headers, json=governorate))

    r = client.get(EXPORT, headers=cast.centre.headers, params={"format": "hxl"})
    assert r.status_code == 200, r.text
    assert not any(text in r.text for text in CONTACTS)  # never a contact, even for the centre
    path = tmp_path / "sites.hxl.csv"
    path.write_bytes(r.content)
    data = hxl.data(str(path), hxl.InputOptions(allow_local=True)).cache()
    for tag in (
        "#org+name",
        "#org+impl",
        "#sector+cluster",
        "#activity",
        "#adm1+name",
        "#loc+name",
        "#geo+lat",
        "#geo+lon",
        "#status",
        "#date+start",
        "#date+end",
    ):
        assert tag in data.display_tags, tag
    rows = {row.get("#meta+id"): row for row in data}
    assert set(rows) == {made["clinic"]["ref"], made["shelter"]["ref"]}  # sites only
    clinic = rows[made["clinic"]["ref"]]
    assert clinic.get("#org+name") == clinic.get("#org+impl") == "Organization WFP"
    assert clinic.get("#sector+cluster") == "Health"
    assert clinic.get("#adm1+name") == "Deir al-Balah"
    assert clinic.get("#loc+name") == "Deir al-Balah field clinic"
    assert (clinic.get("#geo+lat"), clinic.get("#geo+lon")) == ("31.418900", "34.351700")
    assert clinic.get("#status") == "shared" and not clinic.get("#date+end")  # until further notice
    shelter = rows[made["shelter"]["ref"]]
    assert shelter.get("#sector+cluster") == "Shelter"
    assert not shelter.get("#adm1+name")  # outside every governorate drawn

    # The force sees the shared clinic only.
    seen = client.get(EXPORT, headers=cast.isf.headers, params={"format": "hxl"}).text
    assert made["clinic"]["ref"] in seen and made["shelter"]["ref"] not in seen

    wrong = client.get(
        EXPORT, headers=cast.centre.headers, params={"format": "hxl", "kind": "movement"}
    )
    assert wrong.status_code == 422 and "query.kind" in wrong.text
