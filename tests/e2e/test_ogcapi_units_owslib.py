"""The OGC API collection `units` read by OWSLib over real HTTP, on both backends: the ORBAT's
located units as points, each caller seeing only the units released to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import owslib.ogcapi
import pytest
from owslib.ogcapi.features import Features

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.command.domain import Echelon, UnitKind
from cmcc.command.orbat import create_unit
from cmcc.command.schemas import UnitCreate
from tests.factories import caller, org
from tests.serving import in_thread

pytestmark = pytest.mark.e2e
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _unit(platform: Platform, owner: str, **fields: object) -> int:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        data = UnitCreate.model_validate({"valid_from": T0, **fields})
        made = create_unit(
            s, Principal.system_operator(), data, owner_org_id=org_by_code(s, owner).id
        )
        return made.lineage_id


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    for code in ("IDN", "GBR"):
        org(platform, code)
    with in_thread(create_app(platform)) as base:
        yield f"{base}/ogc"


@pytest.fixture(autouse=True)
def _owslib_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owslib.ogcapi, "REQUEST_HEADERS", dict(owslib.ogcapi.REQUEST_HEADERS))


def test_owslib_reads_the_units(platform: Platform, base_url: str) -> None:
    hq = _unit(
        platform,
        "CMCC",
        name="Force Headquarters",
        kind=UnitKind.HEADQUARTERS,
        echelon=Echelon.CORPS,
        lon=34.45,
        lat=31.50,
        releasability="public",
    )
    bn = _unit(
        platform,
        "IDN",
        name="Garuda battalion",
        short_name="GARUDA-1",
        nation="IDN",
        echelon=Echelon.BATTALION,
        capability="infantry_battalion",
        strength_authorized=800,
        strength_assigned=790,
        strength_present=760,
        lon=34.25,
        lat=31.29,
        parent=hq,
        releasability="rel:IDN",
    )
    _unit(platform, "IDN", name="No location yet", echelon=Echelon.COMPANY, parent=bn)

    public = Features(base_url)
    assert "units" in public.feature_collections()
    assert [f["id"] for f in public.collection_items("units", limit=100)["features"]] == [str(hq)]

    token = caller(platform, "IDN", Role.LIAISON_OFFICER).token
    idn = Features(base_url, headers={"Authorization": f"Bearer {token}"})
    page = idn.collection_items("units", limit=100)
    assert page["numberMatched"] == 2  # the unit without a location is not a feature
    one = idn.collection_item("units", str(bn))
    assert one["geometry"] == {"type": "Point", "coordinates": [34.25, 31.29]}
    props = one["properties"]
    assert (props["name"], props["short_name"], props["nation"], props["echelon"]) == (
        "Garuda battalion",
        "GARUDA-1",
        "IDN",
        "battalion",
    )
    assert props["sidc"] == "SFGPUCI----F---"
    assert (props["strength_authorized"], props["strength_present"]) == (800, 760)
    boxed = idn.collection_items("units", bbox=[34.2, 31.2, 34.3, 31.3], limit=10)
    assert [f["id"] for f in boxed["features"]] == [str(bn)]
    before = idn.collection_items("units", datetime_="2026-02-01T00:00:00Z", limit=10)
    assert before["numberMatched"] == 0  # the ORBAT as it stood before the units existed

    gbr_token = caller(platform, "GBR", Role.LIAISON_OFFICER).token
    gbr = Features(base_url, headers={"Authorization": f"Bearer {gbr_token}"})
    assert [f["id"] for f in gbr.collection_items("units", limit=100)["features"]] == [str(hq)]
    with pytest.raises(RuntimeError, match="not-found"):
        gbr.collection_item("units", str(bn))
