"""The checks of an uploaded data package, on zips made here: zip bombs (by ratio, by total
size, by number of files, and one whose directory lies), names that climb out or are absolute
or repeat, links, a non-zip sent as a zip, a digest that does not match, manifests with entity
declarations; and the platform's own mission package passing them all."""

from __future__ import annotations

import datetime as dt
import io
import os
import struct
import zipfile

import pytest
from lxml import etree

from cmcc.tak import mission_package
from cmcc.tak.package_checks import (
    MANIFEST,
    PackageRefused,
    PackageTooLarge,
    ZipLimits,
    check_upload,
    sha256,
    sniff,
)

LIMITS = ZipLimits(max_bytes=4 << 20, max_unpacked=8 << 20, max_entries=50, max_ratio=100)
GOOD_MANIFEST = (
    b'<?xml version="1.0" encoding="UTF-8"?><MissionPackageManifest version="2">'
    b'<Configuration><Parameter name="uid" value="p-1"/><Parameter name="name" value="Patrol"/>'
    b'</Configuration><Contents><Content ignore="false" zipEntry="a/a.cot"/></Contents>'
    b"</MissionPackageManifest>"
)


def make_zip(*entries: tuple[str, bytes], manifest: bytes | None = GOOD_MANIFEST) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if manifest is not None:
            z.writestr(MANIFEST, manifest)
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def check(data: bytes, *, name: str = "p.zip", mission: bool = True, **kw: object) -> object:
    args: dict[str, object] = {
        "name": name,
        "declared_type": None,
        "declared_hash": None,
        "limits": LIMITS,
        "mission_package": mission,
    } | kw
    return check_upload(data, **args)  # type: ignore[arg-type]


def refusal(data: bytes, **kw: object) -> str:
    with pytest.raises(PackageRefused) as info:
        check(data, **kw)
    return str(info.value)


def test_a_mission_package_is_accepted_with_its_manifest_name() -> None:
    data = make_zip(("a/a.cot", b"<event/>"))
    checked = check(data, declared_hash=sha256(data).upper(), declared_type="application/zip")
    assert checked.hash == sha256(data)  # type: ignore[attr-defined]
    assert checked.mime_type == "application/zip"  # type: ignore[attr-defined]
    assert checked.manifest_name == "Patrol"  # type: ignore[attr-defined]


def test_zip_bomb_by_ratio_is_refused_from_the_directory() -> None:
    bomb = make_zip(("zeros.bin", bytes(6 << 20)))  # 6 MiB of zeros: a few KiB packed
    assert len(bomb) < 64 << 10
    assert "zip bomb" in refusal(bomb)


def test_zip_bomb_by_total_size_is_refused() -> None:
    random = [(f"r{n}.bin", os.urandom(1 << 20)) for n in range(3)]  # incompressible
    limits = ZipLimits(max_bytes=8 << 20, max_unpacked=2 << 20, max_entries=50, max_ratio=100)
    message = refusal(make_zip(*random), limits=limits)
    assert "unpacks to" in message and f"more than {2 << 20}" in message


def test_too_many_files_are_refused() -> None:
    many = [(f"f{n}.txt", b"x") for n in range(60)]
    assert "more than 50" in refusal(make_zip(*many))


def test_a_directory_that_lies_about_a_size_is_refused_when_read() -> None:
    data = bytearray(make_zip(("zeros.bin", bytes(3 << 20))))
    # Rewrite the unpacked size to 1,000 bytes in the local header and in the directory:
    # the ratio check then passes, and reading the entry finds out.
    local = data.rindex(b"PK\x03\x04", 0, data.index(b"zeros.bin"))  # its local header
    central = data.rindex(b"PK\x01\x02")  # its directory entry (the last one)
    struct.pack_into("<I", data, local + 22, 1000)
    struct.pack_into("<I", data, central + 24, 1000)
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("zeros.bin")
    assert info.file_size == 1000  # the lie is in place
    assert "zeros.bin" in refusal(bytes(data))


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("../evil.txt", "climb out"),
        ("a/../../evil.txt", "climb out"),
        ("..\\evil.txt", "climb out"),
        ("/etc/passwd", "absolute"),
        ("\\windows\\evil.txt", "absolute"),
        ("C:/evil.txt", "absolute"),
    ],
)
def test_names_that_leave_the_package_are_refused(name: str, said: str) -> None:
    message = refusal(make_zip((name, b"x")))
    assert said in message and repr(name)[:20] in message


def test_duplicate_names_are_refused_also_in_another_case() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(MANIFEST, GOOD_MANIFEST)
        z.writestr("a.txt", b"1")
        z.writestr("A.TXT", b"2")
    assert "another file of this name" in refusal(out.getvalue())


def test_links_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(MANIFEST, GOOD_MANIFEST)
        link = zipfile.ZipInfo("link")
        link.external_attr = (0o120777) << 16
        z.writestr(link, "/etc/passwd")
    assert "links" in refusal(out.getvalue())


def test_a_non_zip_sent_as_a_zip_is_refused() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    assert "bytes are image/png" in refusal(png, declared_type="application/zip", mission=False)
    assert "must be a zip" in refusal(b"hello", name="p.zip", mission=False)
    assert "must be a zip" in refusal(b"hello")  # a mission package


def test_a_declared_type_the_bytes_contradict_is_refused() -> None:
    data = make_zip(manifest=None)
    assert "declared image/png" in refusal(data, name="x.png", declared_type="image/png")


def test_a_hash_that_does_not_match_is_refused() -> None:
    data = make_zip(("a/a.cot", b"<event/>"))
    message = refusal(data, declared_hash="0" * 64)
    assert sha256(data) in message and "not the" in message
    assert "64 hexadecimal" in refusal(data, declared_hash="abc")


def test_a_mission_package_needs_a_manifest() -> None:
    assert MANIFEST in refusal(make_zip(("a.txt", b"x"), manifest=None))


@pytest.mark.parametrize(
    "manifest",
    [
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<MissionPackageManifest>&b;</MissionPackageManifest>",
        b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><MissionPackageManifest>&x;'
        b"</MissionPackageManifest>",
        b"<Manifest/>",
        b"<MissionPackageManifest>",
        b'<MissionPackageManifest><Contents><Content zipEntry="../../x"/></Contents>'
        b"</MissionPackageManifest>",
    ],
)
def test_bad_manifests_are_refused(manifest: bytes) -> None:
    assert MANIFEST in refusal(make_zip(manifest=manifest))


def test_too_large_is_its_own_error() -> None:
    limits = ZipLimits(max_bytes=1024, max_unpacked=8 << 20, max_entries=50, max_ratio=100)
    with pytest.raises(PackageTooLarge):
        check(os.urandom(2048), name="x.bin", mission=False, limits=limits)


def test_any_file_is_accepted_with_the_type_its_bytes_are() -> None:
    kml = b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>'
    assert sniff(kml) == "text/xml"
    got = check(
        kml, name="overlay.kml", mission=False, declared_type="application/vnd.google-earth.kml+xml"
    )
    assert got.mime_type == "application/vnd.google-earth.kml+xml"  # type: ignore[attr-defined]
    blob = check(b"\x00\x01 whatever", name="notes.bin", mission=False)
    assert blob.mime_type == "application/octet-stream"  # type: ignore[attr-defined]


def test_the_platforms_mission_package_passes_the_checks_and_is_stable() -> None:
    when = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
    files = [("cmcc-zone-1/cmcc-zone-1.cot", b"<event uid='cmcc-zone-1'/>")]
    data = mission_package.build("cmcc-picture-idn", "CMCC picture IDN", files, when=when)
    assert data == mission_package.build("cmcc-picture-idn", "CMCC picture IDN", files, when=when)
    assert check(data).manifest_name == "CMCC picture IDN"  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() == [MANIFEST, "cmcc-zone-1/cmcc-zone-1.cot"]
        root = etree.fromstring(z.read(MANIFEST))
    (content,) = root.iterfind("Contents/Content")
    assert content.get("zipEntry") == "cmcc-zone-1/cmcc-zone-1.cot"
    assert content.find("Parameter").get("value") == "cmcc-zone-1"  # type: ignore[union-attr]
