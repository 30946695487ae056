"""Backup and restore of PostgreSQL with its own tools, `pg_dump` and `pg_restore`.

The backup opens a repeatable-read transaction, exports its snapshot, reads the schema revision
and the audit head in it, and has `pg_dump -Fc` dump that same snapshot: the manifest and the
dump describe one moment, while the platform keeps writing. The restore runs `pg_restore
--clean` in a single transaction, so it lands whole or not at all. The extensions (PostGIS,
btree_gist) belong to the database's administrator: the restore leaves them out of the dump's
list and creates them first only where they are missing (which needs the right to).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL

from cmcc.audit.models import GENESIS_HASH
from cmcc.ops.archive import PAYLOADS, Manifest, Snapshot
from cmcc.ops.errors import BackupError
from cmcc.ops.stores import Contents

PG_BIN = "/usr/lib/postgresql/{major}/bin"
TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", re.MULTILINE)
TOC_EXTENSION = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)", re.MULTILINE)
TOC_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (EXTENSION -|COMMENT - EXTENSION) ")
USER_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def find_tool(name: str, major: int) -> str:
    """`pg_dump` or `pg_restore`: on PATH, or where Debian installs the server's version."""
    found = shutil.which(name)
    if found:
        return found
    folder = PG_BIN.format(major=major)
    candidate = Path(folder) / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    raise BackupError(
        f"{name} was not found on PATH nor in {folder}: install the PostgreSQL {major} client "
        f"programs (Debian: apt-get install postgresql-client-{major}) or put {name} on PATH"
    )


def _scalar(conn: psycopg.Connection[Any], query: LiteralString) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresStore:
    backend = "postgresql"

    def __init__(self, url: URL) -> None:
        self.label = url.render_as_string(hide_password=True)
        self.scratch: Path | None = None
        self._password = url.password
        query = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
        self._conninfo = make_conninfo(
            "", host=url.host, port=url.port, user=url.username, dbname=url.database, **query
        )
        self._major: int | None = None

    # --- connections and tools ------------------------------------------------------------

    @contextmanager
    def _connect(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A connection; a database error, from connecting on, is one clear line."""
        try:
            with psycopg.connect(
                self._conninfo, password=self._password, autocommit=autocommit, connect_timeout=10
            ) as conn:
                yield conn
        except psycopg.Error as exc:
            raise BackupError(f"database error on {self.label}: {_first_line(exc)}") from None

    def _tool(self, name: str) -> str:
        if self._major is None:
            with self._connect() as conn:
                self._major = int(_scalar(conn, "SHOW server_version_num")) // 10000
        return find_tool(name, self._major)

    def _run(self, args: list[str], failed: str) -> str:
        """Run a PostgreSQL tool (the password, if any, in its environment, never its
        arguments); its output, or `failed` and what it printed."""
        env = dict(os.environ)
        if self._password:
            env["PGPASSWORD"] = self._password
        # The program is pg_dump or pg_restore, found by find_tool; no shell is involved.
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()[-8:]
            raise BackupError(f"{failed}: " + (" / ".join(lines) or f"exit {done.returncode}"))
        return done.stdout

    # --- backup -----------------------------------------------------------------------------

    def dump(self, folder: Path) -> tuple[Path, Snapshot]:
        out = folder / PAYLOADS[self.backend]
        pg_dump = self._tool("pg_dump")
        with self._connect() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                exported = str(_scalar(conn, "SELECT pg_export_snapshot()"))
                snapshot = self._snapshot(conn)
                self._run(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={exported}",
                        f"--file={out}",
                        "--no-password",
                        f"--dbname={self._conninfo}",
                    ],
                    f"pg_dump of {self.label} failed",
                )
        return out, snapshot

    def _snapshot(self, conn: psycopg.Connection[Any]) -> Snapshot:
        if _scalar(conn, "SELECT to_regclass('alembic_version')") is None:
            raise BackupError(f"{self.label} holds no CMCC schema (no alembic_version table)")
        revision = _scalar(conn, "SELECT version_num FROM alembic_version")
        seq, digest = 0, GENESIS_HASH
        if _scalar(conn, "SELECT to_regclass('audit_head')") is not None:
            row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            if row:
                seq, digest = int(row[0]), str(row[1])
        return Snapshot(str(revision or ""), seq, digest, str(_scalar(conn, "SHOW server_version")))

    # --- restore ----------------------------------------------------------------------------

    def _toc(self, payload: Path, source: Path) -> str:
        return self._run(
            [self._tool("pg_restore"), "--list", str(payload)],
            f"{source} is damaged: pg_restore cannot read its database copy",
        )

    def validate(self, payload: Path, manifest: Manifest, source: Path) -> None:
        tables = {name for _schema, name in TOC_TABLE.findall(self._toc(payload, source))}
        if not {"alembic_version", "audit_log"} <= tables:
            raise BackupError(f"{source} is damaged: its database copy is not of a CMCC database")

    def contents(self) -> Contents:
        with self._connect() as conn:
            rows = conn.execute(USER_TABLES).fetchall()
            tables = tuple(f"{schema}.{name}" for schema, name in rows)
            if not {"public.alembic_version", "public.audit_log"} <= set(tables):
                return Contents(tables)
            revision = _scalar(conn, "SELECT version_num FROM alembic_version")
            entries = int(_scalar(conn, "SELECT count(*) FROM audit_log"))
        return Contents(tables, str(revision) if revision else None, entries)

    def replace(self, payload: Path) -> None:
        toc = self._toc(payload, payload)
        kept = {f"{schema}.{name}" for schema, name in TOC_TABLE.findall(toc)}
        extra = sorted(set(self.contents().tables) - kept)
        if extra:
            raise BackupError(
                f"{self.label} has tables the backup does not ({', '.join(extra[:5])}"
                f"{', ...' if len(extra) > 5 else ''}), which a restore would leave behind: "
                "restore into a new, empty database"
            )
        self._ensure_extensions(set(TOC_EXTENSION.findall(toc)))
        listing = payload.with_name("restore.list")
        listing.write_text(
            "\n".join(line for line in toc.splitlines() if not TOC_EXTENSION_ENTRY.match(line))
            + "\n"
        )
        self._run(
            [
                self._tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                "--no-password",
                f"--use-list={listing}",
                f"--dbname={self._conninfo}",
                str(payload),
            ],
            f"pg_restore into {self.label} failed and was rolled back (the database is as it was)",
        )

    def _ensure_extensions(self, names: set[str]) -> None:
        with self._connect(autocommit=True) as conn:
            present = {str(r[0]) for r in conn.execute("SELECT extname FROM pg_extension")}
            for name in sorted(names - present):
                try:
                    conn.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                    )
                except psycopg.Error as exc:
                    raise BackupError(
                        f"the backup needs the extension {name}, which {self.label} lacks and "
                        f"this role may not create ({_first_line(exc)}): have an administrator "
                        f"run CREATE EXTENSION {name} in it (see docs/operations/postgresql.md)"
                    ) from None
