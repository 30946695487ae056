"""A unit's chain of command in one query (`orbat.ancestors`) is the chain walked level by
level, for every unit of the scenario and a re-subordinated one, at several dates, on both
backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.command import orbat
from cmcc.command.models import Unit
from cmcc.command.schemas import UnitChange
from cmcc.scenarios.loader import load_scenario


def walked(session: Session, lineage: int, at: dt.datetime) -> list[Unit]:
    """The chain read one version at a time."""
    chain: list[Unit] = []
    current: int | None = lineage
    while current is not None and current not in {u.lineage_id for u in chain}:
        unit = orbat.current_version(session, orbat.SYSTEM_VIEWER, current, at)
        if unit is None:
            break
        chain.append(unit)
        current = unit.parent_lineage
    return chain


def test_the_chain_in_one_query_is_the_chain_walked(platform: Platform) -> None:
    with operator_session(platform, write=True, actor="system:test") as session:
        load_scenario(session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())
        me = Principal.system_operator()
        eod = session.scalars(select(Unit).where(Unit.name == "Kosovo EOD team")).one()
        isf = session.scalars(select(Unit).where(Unit.short_name == "ISF HQ")).one()
        # Moved from its contingent straight under the force headquarters on 1 November.
        orbat.change_unit(
            session,
            me,
            eod.lineage_id,
            UnitChange(
                version=eod.version,
                valid_from=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                parent=isf.lineage_id,
            ),
        )
    moments = [
        dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
    ]
    with platform.unit_of_work(Principal.system_operator()) as s:
        lineages = list(s.scalars(select(func.coalesce(Unit.lineage, Unit.id)).distinct()))
        assert len(lineages) > 15
        for at in moments:
            for lineage in [*lineages, 10**6]:
                expected = [u.id for u in walked(s, lineage, at)]
                assert [u.id for u in orbat.ancestors(s, lineage, at)] == expected, (lineage, at)
        june, november = (
            [u.name for u in orbat.ancestors(s, eod.lineage_id, at)] for at in moments[1:]
        )
        assert june[1] == "Kosovo contingent" and november[1] == isf.name
