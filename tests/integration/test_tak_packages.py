"""TAK data packages through the service (`cmcc.tak.packages`), on both backends: who finds,
lists and downloads what (the release policy of the device's organization, in the query), the
same file uploaded by two organizations, hostile uploads that write nothing, the tool of a
package, and the picture's mission package holding only what the organization may see.

The same over HTTPS with client certificates, through the Marti app: tests/e2e/test_tak_packages.py.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
import zipfile
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from cmcc.access.domain import OrgKind, Principal
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.errors import DomainError, Forbidden, NotFound
from cmcc.core.releasability import Marking, Viewer
from cmcc.cot import devices
from cmcc.cot.devices import DeviceOwner
from cmcc.hazards import service as hazards
from cmcc.hazards.schemas import HazardCreate
from cmcc.ops.backup import backup, restore
from cmcc.tak import packages
from cmcc.tak.package_checks import MANIFEST, PackageRefused, PackageTooLarge, sha256
from cmcc.tak.package_models import TakDataPackage
from cmcc.zones import service as zones
from cmcc.zones.schemas import ZoneCreate
from tests.conftest import PG_ADMIN_URL, SECRET, _pg_url
from tests.factories import org, row_counts
from tests.unit.test_tak_package_checks import make_zip

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.45, 31.50], [34.45, 31.51], [34.44, 31.51], [34.44, 31.50]]
    ],
}


def device(platform: Platform, uid: str, code: str, marking: str = "mission") -> DeviceOwner:
    org(platform, code, OrgKind.NATION, member=code != "TUR")
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, uid, code, releasability=marking)
        found = devices.resolve(s, uid)
    assert found is not None
    return found


def viewer(platform: Platform, who: DeviceOwner) -> Viewer:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return packages.viewer_of(s, who)


def upload(platform: Platform, who: DeviceOwner, data: bytes, **kw: object) -> TakDataPackage:
    args: dict[str, object] = {
        "name": "patrol.zip",
        "keywords": [],
        "declared_type": "application/zip",
        "declared_hash": sha256(data),
        "tool": "public",
        "settings": platform.settings,
        "mission_package": True,
    } | kw
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        package = packages.upload(s, who, data, **args)  # type: ignore[arg-type]
        s.expunge(package)
        return package


def reads(platform: Platform, who: Viewer, hash_: str) -> tuple[bool, list[str], str]:
    """What a viewer learns of a hash: found, listed (hashes), and the download's answer."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        found = packages.find(s, who, hash_) is not None
        listed = [p.hash for p in packages.search(s, who, keywords=[], tool=None)]
        try:
            got = packages.content(s, who, hash_, platform.settings)
            answer = f"200 {sha256(got.content)}"
        except NotFound as exc:
            answer = f"404 {exc.detail.replace(hash_, '<hash>')}"
    return found, listed, answer


def test_only_organizations_that_may_see_a_package_find_list_or_download_it(
    platform: Platform,
) -> None:
    idn = device(platform, "idn-1", "IDN", marking="owner")
    gbr = device(platform, "gbr-1", "GBR")
    data = make_zip(("a/a.cot", b"<event/>"))
    stored = upload(platform, idn, data)
    assert (stored.owner_org_id, stored.marking_text, stored.creator_uid) == (
        idn.org_id,
        "owner",
        "idn-1",
    )
    assert reads(platform, viewer(platform, idn), stored.hash) == (
        True,
        [stored.hash],
        f"200 {stored.hash}",
    )
    hidden = reads(platform, viewer(platform, gbr), stored.hash)
    missing = reads(platform, viewer(platform, gbr), "f" * 64)
    assert hidden == missing == (False, [], "404 no data package with hash '<hash>'")
    # Re-marked for the mission, GBR (a member) sees it; TUR (not a member) still does not.
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        packages.set_marking(s, stored.id, Marking.parse("mission"))
    assert reads(platform, viewer(platform, gbr), stored.hash)[0]
    tur = device(platform, "tur-1", "TUR")
    assert reads(platform, viewer(platform, tur), stored.hash) == missing


def test_the_same_file_from_two_organizations_tells_neither_of_the_other(
    platform: Platform,
) -> None:
    idn = device(platform, "idn-1", "IDN", marking="owner")
    gbr = device(platform, "gbr-1", "GBR", marking="owner")
    data = make_zip(("a/a.cot", b"<event/>"))
    first = upload(platform, idn, data, name="idn.zip")
    second = upload(platform, gbr, data, name="gbr.zip")
    assert first.hash == second.hash and first.id != second.id
    assert (second.name, second.owner_org_id, second.creator_uid) == (
        "gbr.zip",
        gbr.org_id,
        "gbr-1",
    )
    again = upload(platform, gbr, data, name="other.zip")  # the organization's own, again
    assert again.id == second.id and again.name == "gbr.zip"
    with platform.unit_of_work(Principal.system_operator()) as s:
        got = packages.content(
            s, viewer(platform, gbr), data_hash := sha256(data), platform.settings
        )
        assert got.name == "gbr.zip"
        listed = packages.search(s, viewer(platform, gbr), keywords=[], tool=None)
        assert [(p.name, p.owner_org_id) for p in listed] == [("gbr.zip", gbr.org_id)]
    assert data_hash == first.hash


def _hostile(platform: Platform) -> list[tuple[bytes, dict[str, object]]]:
    bomb = make_zip(("zeros.bin", bytes(40 << 20)))
    ok = make_zip(("a/a.cot", b"<event/>"))
    return [
        (bomb, {}),
        (make_zip(("../evil.cot", b"x")), {}),
        (make_zip(("/etc/evil.cot", b"x")), {}),
        (ok, {"declared_hash": "0" * 64}),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), {}),  # a non-zip sent as a mission package
        (b"not a zip at all", {"mission_package": False, "name": "x.zip"}),
        (bytes(platform.settings.tak_package_max_bytes + 1), {"mission_package": False}),
    ]


def test_hostile_uploads_are_refused_and_write_nothing(platform: Platform) -> None:
    idn = device(platform, "idn-1", "IDN")
    before = row_counts(platform)
    for data, kw in _hostile(platform):
        if "declared_hash" not in kw:
            kw["declared_hash"] = sha256(data)
        with pytest.raises((PackageRefused, PackageTooLarge)) as info:
            upload(platform, idn, data, **kw)
        assert isinstance(info.value, DomainError) and info.value.detail
    assert row_counts(platform) == before


def test_private_packages_are_listed_to_their_organization_only(platform: Platform) -> None:
    idn = device(platform, "idn-1", "IDN")
    gbr = device(platform, "gbr-1", "GBR")
    tur = device(platform, "tur-1", "TUR")
    data = make_zip(("a/a.cot", b"<event/>"))
    stored = upload(platform, idn, data, tool="private", keywords=["patrol"])
    for who, listed in ((idn, [stored.hash]), (gbr, [])):
        with platform.unit_of_work(Principal.system_operator()) as s:
            found = packages.search(
                s, viewer(platform, who), keywords=["missionpackage"], tool=None
            )
            assert [p.hash for p in found] == listed
            assert packages.find(s, viewer(platform, who), stored.hash) is not None  # by hash
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        with pytest.raises(Forbidden):  # GBR sees it, but does not own it
            packages.set_tool(s, gbr, viewer(platform, gbr), stored.hash, "public")
        with pytest.raises(NotFound):  # TUR may not see it: as if it were not there
            packages.set_tool(s, tur, viewer(platform, tur), stored.hash, "public")
        packages.set_tool(s, idn, viewer(platform, idn), stored.hash, "public")
    with platform.unit_of_work(Principal.system_operator()) as s:
        found = packages.search(s, viewer(platform, gbr), keywords=["patrol"], tool="public")
        assert [p.hash for p in found] == [stored.hash]
        assert packages.search(s, viewer(platform, gbr), keywords=["other"], tool=None) == []


def test_the_picture_package_holds_what_the_organization_may_see(platform: Platform) -> None:
    idn = device(platform, "idn-1", "IDN")
    gbr = device(platform, "gbr-1", "GBR")
    made: dict[str, int] = {}
    with platform.unit_of_work(Principal.system_operator(idn.org_id, "IDN"), write=True) as s:
        who = Principal.system_operator(idn.org_id, "IDN")
        for marking in ("public", "owner", "rel:GBR"):
            zone = zones.create_zone(
                s,
                who,
                ZoneCreate(
                    name=f"zone {marking}",
                    kind="restricted_area",
                    geometry=SQUARE,
                    valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    releasability=marking,
                ),
                aoi=platform.settings.aoi_bbox,
                fence=None,
            )
            made[f"zone-{marking}"] = zone.id
        hazard = hazards.create_hazard(
            s,
            who,
            HazardCreate(
                name="uxo",
                classification="sha",
                device_category="uxo",
                geometry=SQUARE,
                releasability="owner",
            ),
            aoi=platform.settings.aoi_bbox,
        )
        made["hazard-owner"] = hazard.id
    now = dt.datetime.now(dt.UTC)

    def uids(who: DeviceOwner) -> set[str]:
        with platform.unit_of_work(Principal.system_operator()) as s:
            picture = packages.picture_package(s, viewer(platform, who), platform.settings, now=now)
            again = packages.picture_package(s, viewer(platform, who), platform.settings, now=now)
        assert again.hash == picture.hash == sha256(picture.content)  # one package per period
        with zipfile.ZipFile(io.BytesIO(picture.content)) as z:
            names = z.namelist()
            manifest = etree.fromstring(z.read(MANIFEST))
            events = [etree.fromstring(z.read(n)) for n in names if n.endswith(".cot")]
        entries = [c.get("zipEntry") for c in manifest.iterfind("Contents/Content")]
        assert names == [MANIFEST, *entries]
        for ev in events:  # stale as the setting says, not within the hour
            stale = dt.datetime.fromisoformat(ev.get("stale").replace("Z", "+00:00"))
            assert stale - picture.made == dt.timedelta(
                hours=platform.settings.tak_picture_package_hours
            )
        return {ev.get("uid") for ev in events}

    z, h = made, made["hazard-owner"]
    idn_sees = {
        f"cmcc-zone-{z['zone-public']}",
        f"cmcc-zone-{z['zone-owner']}",
        f"cmcc-zone-{z['zone-rel:GBR']}",
        f"cmcc-hazard-{h}",
        f"cmcc-hazard-{h}-area",
    }
    assert uids(idn) == idn_sees
    assert uids(gbr) == {f"cmcc-zone-{z['zone-public']}", f"cmcc-zone-{z['zone-rel:GBR']}"}
    # Its download by hash: this period's and the previous one's, for that viewer only.
    with platform.unit_of_work(Principal.system_operator()) as s:
        picture = packages.picture_package(s, viewer(platform, gbr), platform.settings, now=now)
        later = now + packages.PICTURE_PERIOD
        got = packages.content(s, viewer(platform, gbr), picture.hash, platform.settings, now=later)
        assert got.content == picture.content
        with pytest.raises(NotFound):
            packages.content(s, viewer(platform, idn), picture.hash, platform.settings, now=now)
    assert row_counts(platform)["tak_data_packages"] == 0


def test_a_backup_keeps_the_packages_bytes(
    platform: Platform, backend: str, tmp_path: Path
) -> None:
    """`cmcc backup` copies the whole database (no list of tables): a restore into an empty
    database brings the package back, bytes and all, its audit chain intact."""
    idn = device(platform, "idn-1", "IDN")
    data = make_zip(("a/a.cot", b"<event/>"), ("b.bin", os.urandom(256 << 10)))
    stored = upload(platform, idn, data)
    backup(platform, tmp_path / "cmcc.backup")
    name = f"cmcc_restore_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        (tmp_path / "restored").mkdir()
        target = bootstrap(Settings(home=tmp_path / "restored", secret_key=SECRET))
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        target = bootstrap(Settings(database_url=_pg_url(name), secret_key=SECRET))
    try:
        assert restore(target, tmp_path / "cmcc.backup").audit.ok
        with target.unit_of_work(Principal.system_operator()) as s:
            got = packages.content(s, viewer(platform, idn), stored.hash, platform.settings)
        assert got.content == data
    finally:
        target.dispose()
        if backend != "sqlite":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
