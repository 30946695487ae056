"""`cmcc backup` and `cmcc restore`: a consistent copy of the database, and putting one back.

A backup is the whole database at one moment: every record, the audit log, the tip photos and
the archived SITREPs (both are stored in the database, not as files). Nothing else under
CMCC_HOME needs keeping: `demo-credentials.txt` holds a demonstration's passwords in clear and
is left out on purpose (`cmcc demo` writes new ones). The settings, CMCC_SECRET_KEY above all
(tokens are checked with it), and a CMCC_BASEMAP_FILE belong to the installation, not to the
backup.

A restore checks everything it can before it touches the database (the file, its manifest,
its backend and schema revision, the copy's checksum, whether the database is empty), replaces
the database whole or not at all, then verifies the restored audit chain against the head the
backup recorded.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url

from cmcc import __version__
from cmcc.access.domain import Principal
from cmcc.audit.service import VerifyResult, verify
from cmcc.bootstrap import Platform
from cmcc.core.clock import utcnow
from cmcc.ops import archive
from cmcc.ops.archive import Manifest
from cmcc.ops.errors import BackupError, TargetNotEmpty
from cmcc.ops.postgres_store import PostgresStore
from cmcc.ops.sqlite_store import SqliteStore
from cmcc.ops.stores import Store
from cmcc.schema import MIGRATIONS

BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    size: int


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    audit: VerifyResult
    schema_head: str  # the newest schema revision this version of CMCC knows

    @property
    def head_matches(self) -> bool:
        """The restored chain ends where the backup's did."""
        head = self.manifest.snapshot
        return (self.audit.entries, self.audit.head_hash) == (head.audit_seq, head.audit_hash)

    @property
    def ok(self) -> bool:
        return self.audit.ok and self.head_matches

    @property
    def schema_behind(self) -> bool:
        return self.manifest.snapshot.schema_revision != self.schema_head


def store_for(url: str) -> Store:
    parsed = make_url(url)
    name = parsed.get_backend_name()
    if name == "sqlite":
        return SqliteStore(parsed)
    if name == "postgresql":
        return PostgresStore(parsed)
    raise BackupError(f"backup and restore work on SQLite and PostgreSQL, not {name}")


def backup(platform: Platform, dest: Path) -> BackupResult:
    """Write a consistent copy of the configured database to `dest` while the platform keeps
    running; `dest` is replaced only once the new backup is complete."""
    dest = dest.absolute()
    if dest.is_dir():
        raise BackupError(f"{dest} is a folder: give the name of the backup file to write")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent}: no such folder")
    store = store_for(platform.settings.effective_database_url)
    started = utcnow()
    try:
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".cmcc-backup-") as tmp:
            payload, snapshot = store.dump(Path(tmp))
            size, digest = archive.file_digest(payload)
            manifest = Manifest(store.backend, started, __version__, snapshot, size, digest)
            archive.write(dest, manifest, payload)
    except OSError as exc:  # disk full, no permission: nothing is left behind
        raise BackupError(f"the backup to {dest} failed: {exc}") from None
    return BackupResult(dest, manifest, dest.stat().st_size)


def restore(platform: Platform, source: Path, *, force: bool = False) -> RestoreResult:
    """Replace the configured database with the backup at `source` (refused when the database
    is not empty, unless `force`), then verify the restored audit chain."""
    source = source.absolute()
    store = store_for(platform.settings.effective_database_url)
    if store.scratch is not None and not store.scratch.is_dir():
        raise BackupError(f"{store.scratch}: no such folder (the database's folder)")
    platform.dispose()  # its pooled connections must not hold the database being replaced
    try:
        with archive.read(source) as backup_file:
            manifest = backup_file.manifest
            head = _check_fits(manifest, store.backend, source)
            with tempfile.TemporaryDirectory(dir=store.scratch, prefix=".cmcc-restore-") as tmp:
                payload = backup_file.extract(Path(tmp))
                store.validate(payload, manifest, source)
                contents = store.contents()
                if not contents.empty and not force:
                    raise TargetNotEmpty(
                        f"the database {store.label} is not empty ({contents.describe()}): a "
                        "restore replaces everything in it. Add --force to do so, or restore "
                        "into a new, empty database"
                    )
                store.replace(payload)
    except OSError as exc:  # disk full, no permission: the database was not replaced
        raise BackupError(f"the restore from {source} failed: {exc}") from None
    platform.dispose()
    with platform.unit_of_work(Principal.system_operator()) as session:
        audit = verify(session)
    return RestoreResult(manifest, audit, head)


def _check_fits(manifest: Manifest, backend: str, source: Path) -> str:
    """Refuse a backup of the other backend or of a newer schema; the newest revision known."""
    if manifest.backend != backend:
        theirs, ours = BACKENDS[manifest.backend], BACKENDS[backend]
        raise BackupError(
            f"{source} is a backup of a {theirs} database, but the configured database is "
            f"{ours}: restore it where CMCC runs on {theirs}"
        )
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = str(scripts.get_current_head())
    revision = manifest.snapshot.schema_revision
    try:
        scripts.get_revision(revision)
    except CommandError:
        raise BackupError(
            f"{source} was made by a newer CMCC ({manifest.cmcc_version}): its schema revision "
            f"{revision} is unknown to this version, whose newest is {head}. Restore it with "
            "that version of CMCC or a later one"
        ) from None
    return head
