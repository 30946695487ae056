"""What a data package must be before it is stored: the checks of an upload, without a database.

A data package is any file a TAK client uploads (a mission package, a KML overlay, a photo, a
map); what the bytes are is read from the bytes (`sniff`), and a declared type that the bytes
contradict is refused. A zip (a mission package, a KMZ) is read from its central directory and
then entry by entry, within limits (`ZipLimits`): the number of files, their unpacked size in
all, how much it and each larger file grow when unpacked, so a zip bomb is refused before it
is unpacked past the limit; a name that is absolute, climbs out (`..`), repeats another (also
in another case), or an entry that is a link, encrypted or compressed other than stored or
deflated, is refused. A mission package must carry `MANIFEST/manifest.xml`, parsed with
entities, DTDs and network access off. Every refusal says what was wrong and where."""

from __future__ import annotations

import hashlib
import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from cmcc.core.errors import DomainError, FieldError, InvalidInput

MANIFEST = "MANIFEST/manifest.xml"
ZIP_TYPES = frozenset(
    {
        "application/zip",
        "application/x-zip",
        "application/x-zip-compressed",
        "application/vnd.google-earth.kmz",
    }
)
ZIP_SUFFIXES = (".zip", ".kmz", ".dpk")
RATIO_FLOOR = 1 << 20  # files smaller than this unpacked are not held to the ratio (a manifest)
_CHUNK = 1 << 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty zip
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),  # an MBTiles map
)
# Declared types whose bytes are known: a declaration of one of these must match what is read.
_CHECKED = {
    **dict.fromkeys(ZIP_TYPES, "application/zip"),
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/gif": "image/gif",
    "application/pdf": "application/pdf",
    "image/tiff": "image/tiff",
    "application/vnd.google-earth.kml+xml": "text/xml",
    "application/xml": "text/xml",
    "text/xml": "text/xml",
}


class PackageTooLarge(DomainError):
    http_status = 413
    code = "package-too-large"
    title = "Data package too large"


class PackageRefused(InvalidInput):
    code = "package-refused"
    title = "Data package refused"


def refused(where: str, message: str) -> PackageRefused:
    return PackageRefused(f"{where}: {message}", [FieldError(where, message)])


@dataclass(frozen=True)
class ZipLimits:
    max_bytes: int  # the package itself
    max_unpacked: int  # all its files unpacked
    max_entries: int
    max_ratio: int  # unpacked over packed, the whole zip and each file past RATIO_FLOOR


@dataclass(frozen=True)
class Checked:
    """An accepted upload: its digest, the type its bytes are, and for a mission package the
    name its manifest gives (else None)."""

    hash: str
    mime_type: str
    size: int
    manifest_name: str | None = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The type the bytes are, where their first bytes say it; XML (a KML overlay, a CoT
    file) as `text/xml`; None when unknown."""
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            return mime
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") or re.match(rb"<[A-Za-z]", head):
        return "text/xml"
    return None


def check_upload(
    data: bytes,
    *,
    name: str,
    declared_type: str | None,
    declared_hash: str | None,
    limits: ZipLimits,
    mission_package: bool,
) -> Checked:
    """Every check of an upload (see the module's text); raises PackageRefused or
    PackageTooLarge, else returns what was read."""
    if len(data) > limits.max_bytes:
        raise PackageTooLarge(f"the package is larger than {limits.max_bytes} bytes")
    if not data:
        raise refused("body", "the package is empty")
    digest = sha256(data)
    if declared_hash is not None:
        wanted = declared_hash.strip().lower()
        if not _HEX64.match(wanted):
            raise refused("hash", "give the SHA-256 of the file as 64 hexadecimal digits")
        if wanted != digest:
            raise refused("hash", f"the file's SHA-256 is {digest}, not the {wanted} declared")
    actual = sniff(data)
    declared = _declared(declared_type)
    expects_zip = mission_package or name.lower().endswith(ZIP_SUFFIXES)
    if declared is not None and declared in _CHECKED and _CHECKED[declared] != actual:
        raise refused(
            "content-type",
            f"declared {declared}, but the bytes are {actual or 'of no type known'}",
        )
    if expects_zip and actual != "application/zip":
        what = "a mission package" if mission_package else f"{name!r}"
        raise refused("body", f"{what} must be a zip; the bytes are {actual or 'not a zip'}")
    manifest_name = None
    if actual == "application/zip":
        manifest = check_zip(data, limits, want_manifest=mission_package)
        manifest_name = manifest_name_of(manifest) if manifest is not None else None
    mime = declared if declared is not None and declared in _CHECKED else None
    return Checked(
        digest, mime or actual or declared or "application/octet-stream", len(data), manifest_name
    )


def _declared(value: str | None) -> str | None:
    if value is None:
        return None
    mime = value.split(";", 1)[0].strip().lower()
    if not mime or mime == "application/octet-stream":
        return None
    if not _MIME.match(mime):
        raise refused("content-type", f"{value[:80]!r} is not a MIME type")
    return mime


def check_zip(data: bytes, limits: ZipLimits, *, want_manifest: bool) -> bytes | None:
    """The checks of a zip; returns the manifest's bytes (None when there is none and none is
    wanted)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise refused("body", f"not a readable zip ({exc})") from None
    with archive:
        infos = archive.infolist()
        _check_directory(infos, len(data), limits)
        manifest: bytes | None = None
        unpacked = 0
        for info in infos:
            if info.is_dir():
                continue
            content = _read_entry(archive, info, limits, unpacked)
            unpacked += len(content) if content is not None else info.file_size
            if info.filename.lower() == MANIFEST.lower():
                manifest = content
    if want_manifest:
        if manifest is None:
            raise refused("body", f"a mission package must carry {MANIFEST}")
        parse_manifest(manifest)
    return manifest


def _check_directory(infos: list[zipfile.ZipInfo], packed: int, limits: ZipLimits) -> None:
    """What the central directory says, before anything is unpacked."""
    if len(infos) > limits.max_entries:
        raise refused("body", f"the zip holds {len(infos)} files, more than {limits.max_entries}")
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        where = f"zip entry {name[:200]!r}"
        check_entry_name(name, where)
        folded = name.rstrip("/").casefold()
        if folded in seen:
            raise refused(where, "the zip holds another file of this name")
        seen.add(folded)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise refused(where, "links are not accepted in a data package")
        if info.flag_bits & 0x1:
            raise refused(where, "encrypted entries are not accepted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refused(where, "only stored or deflated entries are accepted")
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise refused(
                where,
                f"it unpacks to {info.file_size} bytes from {info.compress_size}: more than "
                f"{limits.max_ratio} times (a zip bomb?)",
            )
        total += info.file_size
    if total > limits.max_unpacked:
        raise refused("body", f"the zip unpacks to {total} bytes, more than {limits.max_unpacked}")
    if total > RATIO_FLOOR and total > limits.max_ratio * packed:
        raise refused(
            "body",
            f"the zip unpacks to {total} bytes from {packed}: more than {limits.max_ratio} times "
            "(a zip bomb?)",
        )


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, before: int
) -> bytes | None:
    """Unpack one entry, counting what comes out against the limits (the directory may lie);
    return its bytes when it is the manifest, else None."""
    where = f"zip entry {info.filename[:200]!r}"
    keep = info.filename.lower() == MANIFEST.lower()
    kept = bytearray()
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size or before + size > limits.max_unpacked:
                    raise refused(where, "it unpacks to more than the zip declares (a zip bomb?)")
                if keep:
                    kept += chunk
    except zipfile.BadZipFile as exc:
        raise refused(where, f"unreadable ({exc})") from None
    except (zlib.error, EOFError, OSError) as exc:
        raise refused(where, f"unreadable ({exc})") from None
    return bytes(kept) if keep else None


def check_entry_name(name: str, where: str) -> None:
    """A name that stays inside the folder the package is unpacked into, on any system."""
    if not name or "\x00" in name:
        raise refused(where, "an empty name or one with a NUL character")
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise refused(where, "absolute names are not accepted")
    if any(part == ".." for part in path.split("/")):
        raise refused(where, "names that climb out of the package (..) are not accepted")


def _manifest_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
    )


def parse_manifest(data: bytes) -> etree._Element:
    """`MANIFEST/manifest.xml` as TAK writes it (`MissionPackageManifest`), parsed safely:
    any DOCTYPE is refused, which rejects entity expansion and external entities."""
    where = MANIFEST
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise refused(where, "a DOCTYPE or entity declaration is not accepted")
    try:
        root = etree.fromstring(data, _manifest_parser())
    except etree.XMLSyntaxError as exc:
        raise refused(where, f"not XML ({exc})") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):  # e.g. hidden by UTF-16
        raise refused(where, "a DOCTYPE is not accepted")
    if etree.QName(root).localname != "MissionPackageManifest":
        raise refused(where, f"the root is <{root.tag}>, not <MissionPackageManifest>")
    for entry in root.iter("Content"):
        zip_entry = entry.get("zipEntry")
        if zip_entry is not None:
            check_entry_name(zip_entry, f"{where}: zipEntry {zip_entry[:200]!r}")
    return root


def manifest_name_of(manifest: bytes) -> str | None:
    """The package's name in its manifest (`Configuration/Parameter name="name"`)."""
    root = parse_manifest(manifest)
    for param in root.iterfind("Configuration/Parameter"):
        if param.get("name") == "name":
            return param.get("value")
    return None
