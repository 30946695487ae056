"""The ORBAT as exchange files, over the API and the CLI, on both backends: CSV and ORBAT Mapper
round trips, GeoJSON of locations, the release policy on exports, and imports refused whole
with errors naming the row and column (or the JSON path)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform
from cmcc.command.domain import Echelon, UnitKind
from cmcc.command.exchange import COLUMNS
from cmcc.command.orbat import create_unit
from cmcc.command.schemas import UnitCreate
from cmcc.command.sidc import letter_to_number
from tests.factories import caller, pledge_body, row_counts

T0 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
COMPARED = [c for c in COLUMNS if c not in ("lineage", "parent")]


def _unit(platform: Platform, org: str, **fields: Any) -> int:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        owner = org_by_code(s, org)
        fields.setdefault("valid_from", T0)
        unit = create_unit(
            s, Principal.system_operator(), UnitCreate(**fields), owner_org_id=owner.id
        )
        return unit.lineage_id


def _orbat(platform: Platform, client: TestClient) -> dict[str, int]:
    """A force HQ, an Indonesian contingent with a battalion (its pledge named), and a British
    unit released to no one else."""
    for code in ("IDN", "GBR"):
        caller(platform, code, Role.LIAISON_OFFICER)
    lo = caller(platform, "IDN", Role.LIAISON_OFFICER)
    pledge = client.post("/api/v1/pledges", json=pledge_body(), headers=lo.headers).json()
    hq = _unit(
        platform,
        "CMCC",
        name="Force Headquarters",
        short_name="FHQ",
        kind=UnitKind.HEADQUARTERS,
        echelon=Echelon.CORPS,
        lon=34.45,
        lat=31.50,
        location="Kiryat Gat",
    )
    idn = _unit(
        platform,
        "IDN",
        name="Indonesian contingent",
        short_name="=IDN CONT",  # a formula start: kept safe in the spreadsheet
        nation="IDN",
        kind=UnitKind.CONTINGENT,
        echelon=Echelon.BRIGADE,
        parent=hq,
    )
    bn = _unit(
        platform,
        "IDN",
        name="Garuda battalion, Rafah",
        short_name="GARUDA-1",
        nation="IDN",
        echelon=Echelon.BATTALION,
        capability="infantry_battalion",
        strength_authorized=800,
        strength_assigned=790,
        strength_present=760,
        lon=34.25,
        lat=31.29,
        location="Rafah",
        parent=idn,
        pledge_id=pledge["id"],
        transfer_of_authority=dt.date(2026, 3, 1),
        releasability="rel:IDN,CMCC",
    )
    gbr = _unit(
        platform,
        "GBR",
        name="British liaison team",
        nation="GBR",
        echelon=Echelon.TEAM,
        parent=hq,
        lon=34.3,
        lat=31.4,
        releasability="owner",
    )
    return {"hq": hq, "idn": idn, "bn": bn, "gbr": gbr, "pledge": pledge["id"]}


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_and_round_trip(platform: Platform, client: TestClient) -> None:
    ids = _orbat(platform, client)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    got = client.get("/api/v1/orbat/export?format=csv&as_of=2026-03-02", headers=staff.headers)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    rows = _csv(got.text)
    assert list(rows[0]) == list(COLUMNS)
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {
        "Force Headquarters",
        "Indonesian contingent",
        "Garuda battalion, Rafah",
    }  # the British owner-only unit is not released to the CMCC
    bn = by_name["Garuda battalion, Rafah"]
    assert bn["parent"] == str(ids["idn"]) and bn["pledge"].startswith("P-")
    assert bn["strength_present"] == "760" and bn["marking"] == "rel:CMCC,IDN"
    assert by_name["Indonesian contingent"]["short_name"] == "'=IDN CONT"
    assert client.get(
        "/api/v1/orbat/export?format=csv&as_of=2026-02-28", headers=staff.headers
    ).text.strip() == ",".join(COLUMNS)  # before the units existed

    imported = client.post(
        "/api/v1/orbat/import?format=csv", content=got.content, headers=staff.headers
    )
    assert imported.status_code == 201, imported.text
    made = imported.json()["units"]
    assert [u["name"] for u in made] == [r["name"] for r in rows]
    again = _csv(client.get("/api/v1/orbat/export?format=csv", headers=staff.headers).text)
    new = {u["lineage"] for u in made}
    copies = [r for r in again if int(r["lineage"]) in new]
    old = [dict(r) for r in rows]
    assert [{c: r[c] for c in COMPARED} for r in copies] == [
        {c: r[c] for c in COMPARED} for r in old
    ]
    # the copies hang under the copies: the tree is the same
    key = {r["lineage"]: r["name"] for r in again}
    assert [(key.get(r["parent"]), r["name"]) for r in copies] == [
        (key.get(r["parent"]), r["name"]) for r in old
    ]


def test_exports_follow_the_release_policy(platform: Platform, client: TestClient) -> None:
    _orbat(platform, client)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    for fmt in ("csv", "geojson", "orbatmapper"):
        text = client.get(f"/api/v1/orbat/export?format={fmt}", headers=gbr.headers).text
        assert "Garuda" not in text and "P-" not in text  # IDN and CMCC only
        assert "British liaison team" in text
        text = client.get(f"/api/v1/orbat/export?format={fmt}", headers=idn.headers).text
        assert "British" not in text and "Garuda" in text
    anonymous = client.get("/api/v1/orbat/export?format=csv")
    assert anonymous.status_code == 200 and len(_csv(anonymous.text)) == 0
    result = CliRunner().invoke(
        _cli(), ["orbat", "export", "--format", "csv", "--as", "GBR"], env=_env(platform)
    )
    assert result.exit_code == 0, result.output
    assert "British" in result.stdout and "Garuda" not in result.stdout


def test_geojson_of_locations(platform: Platform, client: TestClient) -> None:
    ids = _orbat(platform, client)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    doc = client.get("/api/v1/orbat/export?format=geojson", headers=staff.headers).json()
    assert doc["type"] == "FeatureCollection"
    features = {f["id"]: f for f in doc["features"]}
    assert set(features) == {ids["hq"], ids["bn"]}  # the contingent has no location
    bn = features[ids["bn"]]
    assert bn["geometry"] == {"type": "Point", "coordinates": [34.25, 31.29]}
    assert bn["properties"]["echelon"] == "battalion"
    assert bn["properties"]["transfer_of_authority"] == "2026-03-01"


def test_orbat_mapper_round_trip(platform: Platform, client: TestClient) -> None:
    ids = _orbat(platform, client)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    got = client.get("/api/v1/orbat/export?format=orbatmapper", headers=staff.headers)
    doc = got.json()
    assert doc["type"] == "ORBAT-mapper" and isinstance(doc["startTime"], int)
    (side,) = doc["sides"]
    (root,) = side["groups"][0]["subUnits"]
    assert root["name"] == "Force Headquarters" and root["sidc"].isdigit()
    assert root["sidc"][7] == "2"  # a headquarters in 2525D
    (cont,) = root["subUnits"]
    (bn,) = cont["subUnits"]
    assert bn["sidc"] == letter_to_number("SFGPUCI----F---") == "10031000161211000000"
    assert bn["location"] == [34.25, 31.29] and bn["shortName"] == "GARUDA-1"
    assert bn["personnel"] == [{"name": "Personnel", "count": 800, "onHand": 760}]

    before = _csv(client.get("/api/v1/orbat/export?format=csv", headers=staff.headers).text)
    imported = client.post(
        "/api/v1/orbat/import",
        content=got.content,
        headers={**staff.headers, "Content-Type": "application/json"},
    )
    assert imported.status_code == 201, imported.text
    new = {u["lineage"] for u in imported.json()["units"]}
    after = _csv(client.get("/api/v1/orbat/export?format=csv", headers=staff.headers).text)
    copies = [r for r in after if int(r["lineage"]) in new]
    assert [{c: r[c] for c in COMPARED} for r in copies] == [
        {c: r[c] for c in COMPARED} for r in before
    ]
    assert ids["gbr"] not in new


def test_orbat_mapper_file_without_the_extension(platform: Platform, client: TestClient) -> None:
    """A scenario made in ORBAT Mapper: echelon and headquarters read from the 2525D SIDC,
    strength from personnel, nation from the country amplifier."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    doc = {
        "type": "ORBAT-mapper",
        "id": "x",
        "version": "2.0.0",
        "name": "made elsewhere",
        "sides": [
            {
                "id": "s",
                "name": "Blue",
                "standardIdentity": "3",
                "groups": [
                    {
                        "id": "g",
                        "name": "Units",
                        "subUnits": [
                            {
                                "id": "a",
                                "name": "Task Force HQ",
                                "sidc": "10031002181100000000",
                                "subUnits": [
                                    {
                                        "id": "b",
                                        "name": "1st Engineers",
                                        "sidc": "10031000151407000000",
                                        "location": [34.3, 31.35],
                                        "textAmplifiers": {"country": "IDN"},
                                        "personnel": [{"name": "all", "count": 120, "onHand": 100}],
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    got = client.post(
        "/api/v1/orbat/import?format=orbatmapper", content=orjson.dumps(doc), headers=staff.headers
    )
    assert got.status_code == 201, got.text
    rows = {
        r["name"]: r for r in _csv(client.get("/api/v1/orbat/export", headers=staff.headers).text)
    }
    hq, eng = rows["Task Force HQ"], rows["1st Engineers"]
    assert (hq["kind"], hq["echelon"], hq["sidc"]) == ("headquarters", "brigade", "SFGPUH----AH---")
    assert (eng["kind"], eng["echelon"], eng["nation"]) == ("unit", "company", "IDN")
    assert (eng["strength_authorized"], eng["strength_present"]) == ("120", "100")
    assert eng["parent"] == hq["lineage"] and eng["sidc"] == "SFGPUCE----E---"


def test_bad_csv_is_refused_whole(platform: Platform, client: TestClient) -> None:
    ids = _orbat(platform, client)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    text = (
        ",".join(COLUMNS)
        + "\n"
        + f"a,{ids['hq']},Good unit,G1,IDN,unit,company,,,10,10,10,,34.3,31.3,,,mission\n"
        + "b,a,Bad echelon,B1,IDN,unit,legion,,,10,10,10,,,,,,mission\n"
        + "c,99999,Lost unit,,IDN,unit,company,,,,,,,,,NO-SUCH-PLEDGE,,mission\n"
        + "d,a,Bad cells,,IDN,unit,company,,,x,,,,,,,,rel:\n"
        + "e,a,Half placed,,IDN,unit,company,,,,,,,34.3,,,,mission\n"
    )
    counts = row_counts(platform)
    got = client.post("/api/v1/orbat/import?format=csv", content=text, headers=staff.headers)
    assert got.status_code == 422, got.text
    fields = {e["field"] for e in got.json()["errors"]}
    assert {
        "row 3, column echelon",
        "row 4, column parent",
        "row 4, column pledge",
        "row 5, column strength_authorized",
        "row 5, column marking",
    } <= fields, fields
    assert "row 6" in fields  # lon without lat: the row as a whole
    assert not any(f.startswith("row 2") for f in fields)
    assert row_counts(platform) == counts  # nothing written, not even the good row

    unknown = client.post(
        "/api/v1/orbat/import?format=csv",
        content="name,echelon,colour\nA,team,red\n",
        headers=staff.headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "row 1, column colour"


def test_bad_orbat_mapper_names_the_json_path(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    doc = {
        "type": "ORBAT-mapper",
        "sides": [
            {
                "groups": [
                    {
                        "subUnits": [
                            {
                                "id": "a",
                                "name": "Fine HQ",
                                "sidc": "10031002181100000000",
                                "subUnits": [
                                    {"id": "b", "name": "", "sidc": "10031000151211000000"},
                                    {"id": "c", "name": "Ship", "sidc": "10033000001204020000"},
                                    {
                                        "id": "d",
                                        "name": "Lost",
                                        "sidc": "10031000151211000000",
                                        "location": [200, 31],
                                    },
                                ],
                            }
                        ]
                    }
                ]
            }
        ],
    }
    counts = row_counts(platform)
    got = client.post(
        "/api/v1/orbat/import?format=orbatmapper", content=orjson.dumps(doc), headers=staff.headers
    )
    assert got.status_code == 422, got.text
    fields = {e["field"] for e in got.json()["errors"]}
    base = "sides[0].groups[0].subUnits[0]"
    assert {
        f"{base}.subUnits[0].name",
        f"{base}.subUnits[1].sidc",  # no echelon in a ship's SIDC
        f"{base}.subUnits[2].location",
    } <= fields, fields
    assert row_counts(platform) == counts
    messages = {e["field"]: e["message"] for e in got.json()["errors"]}
    assert "carries no echelon" in messages[f"{base}.subUnits[1].sidc"]
    assert (
        client.post(
            "/api/v1/orbat/import?format=orbatmapper", content=b"{", headers=staff.headers
        ).status_code
        == 422
    )


def test_import_needs_write_orbat(platform: Platform, client: TestClient) -> None:
    donor = caller(platform, "GBR", Role.DONOR)
    text = "name,echelon\nA,team\n"
    assert client.post("/api/v1/orbat/import", content=text).status_code == 401
    assert (
        client.post("/api/v1/orbat/import", content=text, headers=donor.headers).status_code == 403
    )


def test_cli_import_and_export(platform: Platform, client: TestClient, tmp_path: Any) -> None:
    _orbat(platform, client)
    env = _env(platform)
    out = tmp_path / "orbat.json"
    done = CliRunner().invoke(
        _cli(),
        [
            "orbat",
            "export",
            "--format",
            "orbatmapper",
            "--as-of",
            "2026-03-05",
            "--output",
            str(out),
        ],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert orjson.loads(out.read_bytes())["type"] == "ORBAT-mapper"
    done = CliRunner().invoke(_cli(), ["orbat", "import", str(out), "--as", "CMCC"], env=env)
    assert done.exit_code == 0, done.output
    assert "imported 4 unit(s)" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("name,echelon\nA,legion\n")
    done = CliRunner().invoke(_cli(), ["orbat", "import", str(bad)], env=env)
    assert done.exit_code == 1
    assert "row 2, column echelon" in done.stderr


def _cli() -> Any:
    from cmcc.cli import app

    return app


def _env(platform: Platform) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }
