"""The backup file: a tar archive holding `manifest.json`, then the database copy.

The manifest says what the copy is (backend, schema revision, the audit chain's head at that
moment, the copy's size and SHA-256), so a restore can refuse a file that does not fit before it
touches anything. The archive is written under a temporary name in the destination's folder and
renamed at the end: a failed backup never leaves a file that looks complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cmcc.core.files import whole_file
from cmcc.ops.errors import BackupError

FORMAT = "cmcc-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 65_536
PAYLOADS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
CHUNK = 1 << 20


@dataclass(frozen=True)
class Snapshot:
    """What the database copy holds, read in the same snapshot as the copy itself."""

    schema_revision: str
    audit_seq: int
    audit_hash: str
    server_version: str


@dataclass(frozen=True)
class Manifest:
    backend: str
    created_at: dt.datetime
    cmcc_version: str
    snapshot: Snapshot
    payload_bytes: int
    payload_sha256: str
    format_version: int = FORMAT_VERSION

    @property
    def payload_name(self) -> str:
        return PAYLOADS[self.backend]

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "format_version": self.format_version,
            "backend": self.backend,
            "created_at": self.created_at.isoformat(),
            "cmcc_version": self.cmcc_version,
            "server_version": self.snapshot.server_version,
            "schema_revision": self.snapshot.schema_revision,
            "audit_head": {"seq": self.snapshot.audit_seq, "hash": self.snapshot.audit_hash},
            "database": {
                "file": self.payload_name,
                "bytes": self.payload_bytes,
                "sha256": self.payload_sha256,
            },
        }
        return json.dumps(doc, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes, where: Path) -> Manifest:
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            raise BackupError(f"{where} is not a CMCC backup: its {MANIFEST} is not JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise BackupError(f"{where} is not a CMCC backup: its {MANIFEST} is another format")
        version = doc.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise BackupError(
                f"{where} was written by a newer CMCC (backup format {version}; this version "
                f"reads format {FORMAT_VERSION}): restore it with that version"
            )
        try:
            backend = doc["backend"]
            if backend not in PAYLOADS:
                raise ValueError(f"unknown backend {backend!r}")
            head, database = doc["audit_head"], doc["database"]
            return cls(
                backend=backend,
                created_at=dt.datetime.fromisoformat(_text(doc["created_at"])),
                cmcc_version=_text(doc["cmcc_version"]),
                snapshot=Snapshot(
                    schema_revision=_text(doc["schema_revision"]),
                    audit_seq=_count(head["seq"]),
                    audit_hash=_text(head["hash"]),
                    server_version=_text(doc["server_version"]),
                ),
                payload_bytes=_count(database["bytes"]),
                payload_sha256=_text(database["sha256"]),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"field {exc} is missing" if isinstance(exc, KeyError) else str(exc)
            raise BackupError(
                f"{where} is damaged: its {MANIFEST} is incomplete ({problem})"
            ) from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected text, found {value!r}")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a whole number, found {value!r}")
    return value


def file_digest(path: Path) -> tuple[int, str]:
    """Size in bytes and SHA-256 of a file."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def write(dest: Path, manifest: Manifest, payload: Path) -> None:
    """Write the archive to `dest` (readable by its owner only), whole or not at all."""
    with (
        whole_file(dest) as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
        payload.open("rb") as data,
    ):
        at, body = manifest.created_at, manifest.to_json()
        _add(tar, MANIFEST, len(body), io.BytesIO(body), at)
        _add(tar, manifest.payload_name, manifest.payload_bytes, data, at)


def _add(tar: tarfile.TarFile, name: str, size: int, data: IO[bytes], at: dt.datetime) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(at.timestamp())
    tar.addfile(info, data)


class Reader:
    """An open backup: its manifest is read and checked; `extract` copies the database out."""

    def __init__(self, path: Path, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self.path, self._tar, self.manifest = path, tar, manifest

    def extract(self, folder: Path) -> Path:
        """The database copy, written into `folder` and checked against the manifest."""
        name = self.manifest.payload_name
        member = self._tar.next()
        if member is None or member.name != name or not member.isfile():
            raise BackupError(f"{self.path} is damaged: it does not hold the database copy {name}")
        source = self._tar.extractfile(member)
        assert source is not None  # a regular file always has a stream
        out = folder / name
        digest, size = hashlib.sha256(), 0
        with out.open("xb") as f:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
        if (size, digest.hexdigest()) != (
            self.manifest.payload_bytes,
            self.manifest.payload_sha256,
        ):
            raise BackupError(
                f"{self.path} is damaged: its database copy does not match the size and "
                "SHA-256 recorded in its manifest"
            )
        return out


@contextmanager
def read(path: Path) -> Iterator[Reader]:
    """Open a backup and read its manifest; a file that is not one, or is cut short, is refused
    with the reason."""
    if not path.is_file():
        raise BackupError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the block below
    except tarfile.TarError:
        raise BackupError(
            f"{path} is not a CMCC backup: it is not a tar archive (plain or compressed)"
        ) from None
    try:
        with tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{path} is not a CMCC backup: it does not start with {MANIFEST}")
            if first.size > MANIFEST_MAX_BYTES:
                raise BackupError(f"{path} is not a CMCC backup: its {MANIFEST} is too large")
            stream = tar.extractfile(first)
            assert stream is not None
            manifest = Manifest.from_json(stream.read(), path)
            yield Reader(path, tar, manifest)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"{path} is damaged or cut short ({exc})") from None
