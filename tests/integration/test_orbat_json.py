"""The single-query ORBAT (cmcc.command.tree_json) answers exactly what the readout does, for
every viewer and date, on both backends: the same units, parents shown only when visible, the
same totals, the same text of every field (markings,
coordinates to the last digit)."""

from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.command import orbat, readout
from cmcc.command.schemas import UnitChange, UnitCreate
from cmcc.command.tree_json import orbat_json
from cmcc.core.releasability import Viewer
from cmcc.scenarios.loader import load_scenario
from tests.factories import org


def test_the_single_query_tree_is_the_readouts_tree(platform: Platform) -> None:
    org(platform, "MSF", OrgKind.NGO, member=False)
    with operator_session(platform, write=True, actor="system:test") as session:
        load_scenario(session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())
        orgs = {o.code: o for o in session.scalars(select(Organization))}
        idn = Principal.system_operator(orgs["IDN"].id, "IDN")
        t0 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
        hidden = orbat.create_unit(
            session,
            idn,
            UnitCreate(
                name="IDN national support element",
                echelon="company",
                kind="contingent",
                valid_from=t0,
                releasability="owner",
                lon=34.312345678901234,
                lat=31.298765432109876,
            ),
        )
        below = orbat.create_unit(
            session,
            idn,
            UnitCreate(
                name='IDN "B" team',
                echelon="team",
                parent=hidden.lineage_id,
                valid_from=t0,
                releasability="rel:GBR,IDN",
                strength_authorized=12,
                strength_present=11,
            ),
        )
        orbat.change_unit(
            session,
            idn,
            below.lineage_id,
            UnitChange(
                version=below.version,
                valid_from=dt.datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=dt.UTC),
                strength_present=7,
            ),
        )
    viewers = [Viewer.public()] + [
        Viewer(orgs[c].id, c, orgs[c].is_member) for c in ("CMCC", "GBR", "IDN", "MSF", "USA")
    ]
    moments = [
        None,
        dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
    ]
    with platform.unit_of_work(Principal.system_operator()) as s:
        for viewer in viewers:
            for as_of in moments:
                expected = orjson.loads(
                    orjson.dumps(readout.orbat_tree(readout.orbat_records(s, viewer, as_of)))
                )
                assert orjson.loads(orbat_json(s, viewer, as_of)) == expected, (viewer, as_of)
        idn_tree = orjson.loads(orbat_json(s, Viewer(orgs["GBR"].id, "GBR", True)))
        team = [n for n in idn_tree if n["unit"]["name"] == 'IDN "B" team']
        assert team and team[0]["unit"]["parent"] is None  # its hidden parent is not named
