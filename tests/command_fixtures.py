"""A small, realistic force for the web pages' tests: the force headquarters and the CMCC, a
sector headquarters, the Indonesian contingent (a battalion and its companies), a Moroccan
battalion, the U.S. support element outside Gaza, and a unit released only to Indonesia; with
command relationships, tasks (one refused by the nation), unit reports, a linked TAK device and
its position; a detachment under that unit is released to the mission. Written as rows (the
services' checks are tested with the services)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.access.service import org_by_code, upsert_organization
from cmcc.bootstrap import Platform
from cmcc.command.domain import Echelon, UnitKind, default_sidc
from cmcc.command.models import CommandRelationship, Unit, UnitReport, UnitTask
from cmcc.core.releasability import Marking
from cmcc.cot.devices import CotDevice
from cmcc.cot.tracks import TrackRow, store_batch

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
RAFAH = (34.2530, 31.2890)
KHAN_YOUNIS = (34.3030, 31.3460)
KIRYAT_GAT = (34.7640, 31.6100)


@dataclass
class Force:
    """Lineages of the units by short name, and the ids of the other records."""

    units: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    relationships: list[int] = field(default_factory=list)


def _marking(session: Any, text: str) -> dict[str, Any]:
    m = Marking.parse(text)
    return {"releasability": m.kind.value, "release_to": m.stored_list}


def build_force(platform: Platform, *, start: dt.datetime = START) -> Force:
    force = Force()
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for code in ("CMCC", "IDN", "MAR", "USA"):  # the scenario's, when it is loaded
            if s.scalar(select(Organization.id).where(Organization.code == code)) is None:
                kind = OrgKind.CMCC if code == "CMCC" else OrgKind.NATION
                upsert_organization(s, code, f"Organization {code}", kind, is_member=True)
        orgs = {c: org_by_code(s, c).id for c in ("CMCC", "IDN", "MAR", "USA")}

        def unit(
            short: str,
            name: str,
            *,
            parent: str | None,
            kind: UnitKind = UnitKind.UNIT,
            echelon: Echelon,
            nation: str = "",
            capability: str | None = None,
            strength: tuple[int, int, int] = (0, 0, 0),
            at: tuple[float, float] | None = None,
            owner: str = "CMCC",
            marking: str = "mission",
            location: str = "",
        ) -> int:
            u = Unit(
                name=name,
                short_name=short,
                nation=nation,
                kind=kind.value,
                echelon=echelon.value,
                sidc=default_sidc(kind, echelon, capability),
                capability=capability,
                strength_authorized=strength[0],
                strength_assigned=strength[1],
                strength_present=strength[2],
                location=location,
                lon=at[0] if at else None,
                lat=at[1] if at else None,
                parent_lineage=force.units[parent] if parent else None,
                valid_from=start,
                owner_org_id=orgs[owner],
                transfer_of_authority=start.date() if kind is UnitKind.UNIT else None,
                **_marking(s, marking),
            )
            s.add(u)
            s.flush()
            force.units[short] = u.lineage_id
            return u.lineage_id

        hq, b, co = UnitKind.HEADQUARTERS, Echelon.BATTALION, Echelon.COMPANY
        unit(
            "ISF HQ",
            "International Stabilization Force headquarters",
            parent=None,
            kind=hq,
            echelon=Echelon.DIVISION,
            strength=(120, 96, 90),
            at=KIRYAT_GAT,
            location="Kiryat Gat",
        )
        unit(
            "CMCC",
            "Civil-Military Coordination Centre",
            parent="ISF HQ",
            kind=hq,
            echelon=Echelon.BRIGADE,
            strength=(60, 52, 50),
            at=KIRYAT_GAT,
            location="Kiryat Gat",
        )
        unit(
            "US SPT",
            "U.S. support element",
            parent="CMCC",
            echelon=b,
            nation="USA",
            capability="logistics",
            strength=(200, 200, 196),
            at=(34.7700, 31.6050),
            owner="USA",
            location="Kiryat Gat (outside Gaza)",
        )
        unit(
            "SEC RAFAH",
            "Sector Rafah headquarters",
            parent="ISF HQ",
            kind=hq,
            echelon=Echelon.BRIGADE,
            strength=(80, 70, 66),
            at=RAFAH,
            location="Rafah",
        )
        unit(
            "IDN CON",
            "Indonesian contingent",
            parent="SEC RAFAH",
            kind=UnitKind.CONTINGENT,
            echelon=Echelon.REGIMENT,
            nation="IDN",
            owner="IDN",
        )
        unit(
            "IDN 1 INF",
            "1st Indonesian Infantry Battalion",
            parent="IDN CON",
            echelon=b,
            nation="IDN",
            capability="infantry_battalion",
            strength=(800, 780, 742),
            at=(34.2600, 31.2950),
            owner="IDN",
            location="Rafah, west",
        )
        for letter, n in (("A", 148), ("B", 150), ("C", 139)):
            unit(
                f"IDN {letter} COY",
                f"{letter} Company, 1st Indonesian Infantry Battalion",
                parent="IDN 1 INF",
                echelon=co,
                nation="IDN",
                capability="infantry_battalion",
                strength=(160, 155, n),
                at=(34.2500 + 0.01 * "ABC".index(letter), 31.2900),
                owner="IDN",
            )
        unit(
            "IDN ENGR",
            "Indonesian Engineer Company",
            parent="IDN CON",
            echelon=co,
            nation="IDN",
            capability="engineers",
            strength=(150, 150, 150),
            at=(34.2700, 31.3000),
            owner="IDN",
        )
        unit(
            "IDN INT",
            "Indonesian liaison cell",
            parent="IDN CON",
            echelon=Echelon.PLATOON,
            nation="IDN",
            capability="staff_officers",
            strength=(30, 30, 28),
            at=(34.2650, 31.2990),
            owner="IDN",
            marking="owner",
        )  # released to Indonesia only
        unit(
            "IDN DET",
            "Liaison detachment, Kerem Shalom",
            parent="IDN INT",  # released to the mission, under a cell others may not see
            echelon=Echelon.TEAM,
            nation="IDN",
            capability="staff_officers",
            strength=(6, 6, 6),
            owner="IDN",
        )
        unit(
            "MAR 1 INF",
            "1st Moroccan Infantry Battalion",
            parent="SEC RAFAH",
            echelon=b,
            nation="MAR",
            capability="infantry_battalion",
            strength=(650, 600, 310),
            at=KHAN_YOUNIS,
            owner="MAR",
            location="Khan Younis",
        )

        u = force.units
        for unit_short, hq_short, kind, status in (
            ("IDN 1 INF", "SEC RAFAH", "opcon", "effective"),
            ("IDN 1 INF", "ISF HQ", "adcon", "agreed"),
            ("MAR 1 INF", "SEC RAFAH", "tacon", "proposed"),
            ("IDN INT", "SEC RAFAH", "national", "effective"),
        ):
            r = CommandRelationship(
                unit_lineage=u[unit_short],
                hq_lineage=u[hq_short],
                kind=kind,
                status=status,
                effective_from=start,
                proposed_by="staff",
                agreed_by="lo-idn" if status != "proposed" else None,
                owner_org_id=orgs["CMCC"],
                releasability="mission",
            )
            s.add(r)
            s.flush()
            force.relationships.append(r.id)

        def task(
            key: str,
            title: str,
            unit_short: str,
            status: str,
            *,
            kind: str = "aid_corridor_security",
            priority: str = "routine",
            reason: str = "",
            day: int = 0,
        ) -> None:
            t = UnitTask(
                title=title,
                task=kind,
                unit_lineage=u[unit_short],
                issuer_lineage=u["SEC RAFAH"],
                lon=34.26,
                lat=31.29,
                starts_at=start + dt.timedelta(days=day, hours=6),
                ends_at=start + dt.timedelta(days=day, hours=18),
                priority=priority,
                status=status,
                status_reason=reason,
                issued_by="staff",
                owner_org_id=orgs["CMCC"],
                releasability="mission",
            )
            s.add(t)
            s.flush()
            force.tasks[key] = t.id

        task(
            "patrol",
            "Patrol the aid corridor at Kerem Shalom",
            "IDN 1 INF",
            "issued",
            priority="priority",
        )
        task(
            "escort",
            "Escort the convoy to the Rafah distribution site",
            "IDN 1 INF",
            "in_progress",
            kind="protection_of_civilians",
        )
        task(
            "checkpoint",
            "Man the checkpoint on Salah al-Din road",
            "IDN 1 INF",
            "complete",
            kind="border_security",
            day=-1,
        )
        task(
            "refused",
            "Search the tunnel entrance east of Rafah",
            "IDN 1 INF",
            "refused_by_nation",
            kind="offensive_operations",
            priority="immediate",
            reason="national caveat: no offensive operations",
        )
        task(
            "hidden",
            "Liaise with the Rafah municipality",
            "IDN INT",
            "acknowledged",
            kind="coordination",
        )

        for n in range(3):
            day = (start - dt.timedelta(days=n)).date()
            s.add(
                UnitReport(
                    unit_lineage=u["IDN 1 INF"],
                    report_date=day,
                    kind="perstat",
                    figures={"present": 742 - n, "on_leave": 20 + n, "casualties": {"injured": n}},
                    submitted_by="lo-idn",
                    owner_org_id=orgs["IDN"],
                    releasability="mission",
                )
            )
            s.add(
                UnitReport(
                    unit_lineage=u["IDN 1 INF"],
                    report_date=day,
                    kind="logstat",
                    figures={
                        "days_of_supply": {
                            "water": 3.5 - n,
                            "rations": 6,
                            "fuel": 4,
                            "ammunition": 10,
                        }
                    },
                    submitted_by="lo-idn",
                    owner_org_id=orgs["IDN"],
                    releasability="mission",
                )
            )
        s.add(
            CotDevice(
                uid="ANDROID-idn-1inf-01",
                callsign="GARUDA 1",
                org_id=orgs["IDN"],
                unit_lineage=u["IDN 1 INF"],
                releasability="mission",
            )
        )
        s.add(
            CotDevice(
                uid="ANDROID-idn-1inf-02",
                callsign="GARUDA 2",
                org_id=orgs["IDN"],
                unit_lineage=u["IDN 1 INF"],
                releasability="owner",
            )
        )
        s.flush()
        store_batch(
            s,
            [
                TrackRow(
                    uid="ANDROID-idn-1inf-01",
                    type="a-f-G-U-C-I",
                    time=start + dt.timedelta(hours=9),
                    stale=start + dt.timedelta(hours=10),
                    lon=34.2611,
                    lat=31.2933,
                    owner_org_id=orgs["IDN"],
                    callsign="GARUDA 1",
                ),
            ],
        )
    return force
