"""The picture's common request: the release policy inside the spatial index (SQLite: the
marking as auxiliary R*Tree columns, migration 0017) follows a change of marking, and the OGC
items' property selection (`properties=`, OGC API - Features Part 6). Both backends."""

from __future__ import annotations

from typing import Any

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text

from cmcc import schema
from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.core.pagination import paginate
from cmcc.core.releasability import Marking
from cmcc.incidents import readout, service
from cmcc.incidents.models import Incident
from cmcc.incidents.readout import SELECTABLE
from tests.factories import caller
from tests.integration.test_picture import SAFE, _ok, incident, point

BOX = "34.40,31.48,34.52,31.56"
WINDOW = "2026-02-15T00:00:00Z/2026-03-15T00:00:00Z"


def _remark(platform: Platform, incident_id: int, marking: str) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        record = s.get(Incident, incident_id)
        assert record is not None
        record.marking = Marking.parse(marking)


def _rtree_marking(platform: Platform, incident_id: int) -> tuple[Any, ...] | None:
    if platform.engine.dialect.name != "sqlite":
        return None
    with platform.engine.connect() as conn:
        row = conn.execute(
            text("SELECT releasability, release_to FROM incidents_rtree WHERE id = :id"),
            {"id": incident_id},
        ).one()
    return tuple(row)


def test_a_record_marked_away_leaves_the_picture_and_comes_back(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    shared = _ok(client.post("/api/v1/incidents", headers=staff, json=incident()))["id"]
    rel = _ok(
        client.post("/api/v1/incidents", headers=staff, json=incident(releasability="rel:GBR"))
    )["id"]

    def seen(headers: dict[str, str]) -> tuple[set[int], set[int]]:
        params = {"bbox": BOX, "datetime": WINDOW}
        rest = _ok(client.get("/api/v1/incidents", headers=headers, params=params), 200)
        ogc = client.get("/ogc/collections/incidents/items", headers=headers, params=params)
        assert ogc.status_code == 200, ogc.text
        assert ogc.json()["numberMatched"] == len(ogc.json()["features"])
        return {r["id"] for r in rest["data"]}, {int(f["id"]) for f in ogc.json()["features"]}

    assert seen(gbr) == ({shared, rel}, {shared, rel})
    assert _rtree_marking(platform, rel) in (None, ("rel", "|GBR|"))
    _remark(platform, rel, "owner")
    assert _rtree_marking(platform, rel) in (None, ("owner", None))
    assert seen(gbr) == ({shared}, {shared})
    assert seen(staff) == ({shared, rel}, {shared, rel})  # the owner still sees it
    _remark(platform, rel, "public")
    assert seen(gbr) == ({shared, rel}, {shared, rel})
    assert seen({}) == ({rel}, {rel})  # public now: anyone, and only it


def test_property_selection_returns_only_the_properties_asked(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    caller(platform, "UNMAS", Role.HUMANITARIAN_PARTNER)
    for body in (
        incident(),
        incident(type="aid_obstruction", geometry=SAFE, releasability="rel:UNMAS"),
        incident(geometry=point(34.30, 31.30), severity=5),
    ):
        _ok(client.post("/api/v1/incidents", headers=staff, json=body))

    def items(**params: Any) -> list[dict[str, Any]]:
        r = client.get("/ogc/collections/incidents/items", headers=staff, params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["features"])

    full = items()
    assert len(full) == 3
    for name in SELECTABLE:  # each property alone is what the full feature shows
        assert [f["properties"] for f in items(properties=name)] == [
            {name: f["properties"][name]} for f in full
        ], name
    assert set(SELECTABLE) == set(full[0]["properties"])
    two = items(properties="severity, releasability")
    assert [f["properties"] for f in two] == [
        {"severity": f["properties"]["severity"], "releasability": f["properties"]["releasability"]}
        for f in full
    ]
    assert [(f["id"], f["geometry"]) for f in two] == [(f["id"], f["geometry"]) for f in full]
    assert [f["properties"] for f in items(properties="")] == [{}, {}, {}]
    boxed = items(properties="type", bbox=BOX, datetime=WINDOW)
    assert [f["properties"] for f in boxed] == [
        {"type": "ceasefire_violation_fire"},
        {"type": "aid_obstruction"},
    ]


def test_a_page_counts_only_what_the_caller_may_see(platform: Platform, client: TestClient) -> None:
    """Every page of a box and window, on the REST list (by cursor) and the OGC items (by
    offset, also past the end): the count is of what the caller may see, over all pages, and
    the pages hold the matches in order of id."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    ids: dict[str, list[int]] = {"owner": [], "rel:GBR": []}
    for i in range(9):
        marking = "owner" if i % 2 else "rel:GBR"
        body = incident(releasability=marking, geometry=point(34.45 + i / 1000, 31.51))
        ids[marking].append(_ok(client.post("/api/v1/incidents", headers=staff, json=body))["id"])
    outside = incident(geometry=point(34.30, 31.30))
    _ok(client.post("/api/v1/incidents", headers=staff, json=outside))
    everything = sorted(ids["owner"] + ids["rel:GBR"])
    for headers, expected in ((staff, everything), (gbr, sorted(ids["rel:GBR"]))):
        params: dict[str, Any] = {"bbox": BOX, "datetime": WINDOW, "limit": 2}
        listed, cursor = [], None
        while True:
            page = _ok(client.get("/api/v1/incidents", headers=headers, params=params), 200)
            assert page["count"] == len(expected)
            listed += [r["id"] for r in page["data"]]
            if not (cursor := page["next_cursor"]):
                break
            params["cursor"] = cursor
        assert listed == expected
        for offset in (0, 2, len(expected), len(expected) + 3):
            r = client.get(
                "/ogc/collections/incidents/items",
                headers=headers,
                params={"bbox": BOX, "datetime": WINDOW, "limit": 2, "offset": offset},
            )
            assert r.status_code == 200, r.text
            assert r.json()["numberMatched"] == len(expected), offset
            assert [int(f["id"]) for f in r.json()["features"]] == expected[offset : offset + 2]


def test_each_picture_query_is_planned_for_its_own_box(
    platform: Platform, client: TestClient
) -> None:
    """The same statement for a small box many times on one connection, then for the whole
    Strip: the answers are right, and PostgreSQL planned every run for its own values. psycopg
    prepares a statement run 5 times, and PostgreSQL then keeps a generic plan after 5 custom
    ones (without `cmcc.core.db.PLAN_CACHE_MODE`: 6 of the 15 runs here); over 1,000,000
    incidents that plan made the whole Strip 5-7 times slower."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    for lon in (34.30, 34.45, 34.46):
        body = incident(geometry=point(lon, 31.51))
        _ok(client.post("/api/v1/incidents", headers=staff.headers, json=body))
    small, whole = (34.44, 31.50, 34.47, 31.52), (34.2, 31.2, 34.6, 31.6)
    operator = Principal.system_operator()
    with platform.unit_of_work(operator) as s:

        def count(bbox: tuple[float, float, float, float]) -> int:
            stmt = service.incident_statement(s, operator, platform.spatial, bbox=bbox)
            return paginate(s, stmt, Incident.id, None, 100, columns=readout.COLUMNS).count

        assert [count(small) for _ in range(15)] == [2] * 15
        assert count(whole) == 3
        if platform.engine.dialect.name == "postgresql":
            generic, custom = s.execute(
                text("SELECT sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements")
            ).one()
            assert custom and generic == 0, (generic, custom)


def test_bad_property_selections_are_refused(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers

    def refused(collection: str, value: str) -> str:
        r = client.get(
            f"/ogc/collections/{collection}/items", headers=staff, params={"properties": value}
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        return str(r.json()["detail"])

    assert "unknown geom_wkb" in refused("incidents", "type,geom_wkb")
    assert "query.properties" in refused("incidents", "type,geom_wkb")
    assert "more than once" in refused("incidents", "type,type")
    assert "not a property name" in refused("incidents", "type,,severity")
    assert "not a property name" in refused("incidents", "type;drop")
    assert "does not offer property selection" in refused("zones", "kind")


def test_the_migration_puts_the_marking_of_stored_incidents_into_the_index(
    platform: Platform, client: TestClient
) -> None:
    """Migration 0017 rebuilds the R*Tree of incidents already stored (SQLite; PostgreSQL:
    nothing to do), and going back down and up again keeps the picture whole."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    caller(platform, "GBR", Role.LIAISON_OFFICER)
    caller(platform, "UNMAS", Role.HUMANITARIAN_PARTNER)
    ids = [
        _ok(client.post("/api/v1/incidents", headers=staff, json=incident(releasability=m)))["id"]
        for m in ("public", "rel:GBR,UNMAS", "owner")
    ]
    cfg = schema.alembic_config(platform.engine.url.render_as_string(hide_password=False))
    with platform.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
    if platform.engine.dialect.name == "sqlite":
        with platform.engine.connect() as conn:
            cols = [r[1] for r in conn.execute(text("PRAGMA table_info(incidents_rtree)"))]
        assert "releasability" not in cols and len(cols) == 7
    schema.upgrade(platform.engine)
    assert [_rtree_marking(platform, i) for i in ids] in (
        [None] * 3,
        [("public", None), ("rel", "|GBR|UNMAS|"), ("owner", None)],
    )
    found = _ok(
        client.get("/api/v1/incidents", headers=staff, params={"bbox": BOX, "datetime": WINDOW}),
        200,
    )
    assert [r["id"] for r in found["data"]] == ids
