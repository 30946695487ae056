"""A TAK mission package made by the platform: a zip with `MANIFEST/manifest.xml` and one CoT
file per item, as ATAK, iTAK and WinTAK import it (Import > Mission Package, or a download
from the server's data packages).

The zip is the same bytes for the same items and the same moment (entries in the order given,
each dated `when`), so every gateway gives one package one SHA-256."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence

from lxml import etree

from cmcc.tak.package_checks import MANIFEST


def build(uid: str, name: str, files: Sequence[tuple[str, bytes]], *, when: dt.datetime) -> bytes:
    """The mission package `uid` named `name` holding `files` (entry name, bytes); an entry
    ending in `.cot` is listed in the manifest with its item's uid (the file's stem)."""
    manifest = etree.Element("MissionPackageManifest", version="2")
    config = etree.SubElement(manifest, "Configuration")
    etree.SubElement(config, "Parameter", name="uid", value=uid)
    etree.SubElement(config, "Parameter", name="name", value=name)
    etree.SubElement(config, "Parameter", name="onReceiveDelete", value="false")
    contents = etree.SubElement(manifest, "Contents")
    for entry, _data in files:
        content = etree.SubElement(contents, "Content", ignore="false", zipEntry=entry)
        if entry.endswith(".cot"):
            item = entry.rsplit("/", 1)[-1].removesuffix(".cot")
            etree.SubElement(content, "Parameter", name="uid", value=item)
    out = io.BytesIO()
    stamp = when.astimezone(dt.UTC).timetuple()[:6]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        members = [(MANIFEST, etree.tostring(manifest, xml_declaration=True, encoding="UTF-8"))]
        for entry, data in [*members, *files]:
            info = zipfile.ZipInfo(entry, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()
