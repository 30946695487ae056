"""Backup and restore of the embedded SQLite database.

The backup uses SQLite's online backup API: it copies every page in one step under a read
transaction, so the copy is one consistent moment while the platform keeps writing (WAL lets
the writer go on). The copy is switched to the rollback journal, so it is one self-contained
file. A restore puts a checked copy in place with an atomic rename, after making sure that no
other process has the database open (a server would keep writing to the file it opened).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

from cmcc.audit.models import GENESIS_HASH
from cmcc.core.files import sync_folder
from cmcc.ops.archive import PAYLOADS, Manifest, Snapshot
from cmcc.ops.errors import BackupError
from cmcc.ops.stores import Contents

BUSY_MS = 10_000


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return db


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [str(r[0]) for r in rows]


def _snapshot(db: sqlite3.Connection, where: str) -> Snapshot:
    tables = set(_tables(db))
    if "alembic_version" not in tables:
        raise BackupError(f"{where} holds no CMCC schema (no alembic_version table)")
    revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
    head = None
    if "audit_head" in tables:
        head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, digest = (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)
    return Snapshot(str(revision[0]) if revision else "", seq, digest, sqlite3.sqlite_version)


class SqliteStore:
    backend = "sqlite"

    def __init__(self, url: URL) -> None:
        if not url.database or url.database == ":memory:":
            raise BackupError("the configured SQLite database is in memory: nothing to back up")
        self.path = Path(url.database).resolve()
        self.label = str(self.path)
        self.scratch: Path | None = self.path.parent

    def dump(self, folder: Path) -> tuple[Path, Snapshot]:
        if not self.path.is_file():
            raise BackupError(f"no database at {self.path}: nothing to back up")
        out = folder / PAYLOADS[self.backend]
        try:
            with closing(_connect(self.path)) as source, closing(_connect(out)) as copy:
                source.backup(copy)  # every page in one step: one consistent moment
                copy.execute("PRAGMA journal_mode=DELETE")
                snapshot = _snapshot(copy, str(self.path))
        except sqlite3.Error as exc:
            raise BackupError(f"{self.path} could not be copied ({exc})") from None
        return out, snapshot

    def validate(self, payload: Path, manifest: Manifest, source: Path) -> None:
        try:
            with closing(_connect(payload)) as db:
                check = db.execute("PRAGMA quick_check").fetchone()
                if not check or check[0] != "ok":
                    raise BackupError(f"{source} is damaged: its database copy fails {check}")
                found = _snapshot(db, f"the database copy in {source}").schema_revision
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"{source} is damaged: its database copy is not a SQLite database ({exc})"
            ) from None
        if found != manifest.snapshot.schema_revision:
            raise BackupError(
                f"{source} is damaged: its database copy is at schema revision {found}, not "
                f"{manifest.snapshot.schema_revision} as its manifest says"
            )

    def contents(self) -> Contents:
        if not self.path.exists():
            return Contents(())
        try:
            with closing(_connect(self.path)) as db:
                tables = _tables(db)
                if "alembic_version" not in tables or "audit_log" not in tables:
                    return Contents(tuple(tables))
                snapshot = _snapshot(db, self.label)
                entries = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{self.path} cannot be read as a SQLite database ({exc})") from None
        return Contents(tuple(tables), snapshot.schema_revision, int(entries))

    def replace(self, payload: Path) -> None:
        self._release()
        if self.path.exists():  # the restored file keeps the permissions of the one it replaces
            payload.chmod(self.path.stat().st_mode & 0o777)
        os.replace(payload, self.path)
        sync_folder(self.path.parent)

    def _release(self) -> None:
        """Fold the write-ahead log into the file and close it; refuse when another process
        still has the database open (its -wal and -shm files stay while anyone does)."""
        if not self.path.exists():
            return
        try:
            with closing(_connect(self.path)) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise BackupError(f"{self.path} could not be checkpointed ({exc})") from None
        for side in ("-wal", "-shm"):
            if Path(f"{self.path}{side}").exists():
                raise BackupError(
                    f"{self.path} is open in another process (its {side} file is there): stop "
                    "`cmcc serve` and every other cmcc command using it, then restore again"
                )
