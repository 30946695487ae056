"""What a served platform keeps, as bytes to search: every file under its home folder (its log,
the SQLite file and its WAL) and the database (on PostgreSQL a `pg_dump --data-only`, or every
row of every table as text when `pg_dump` is missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import inspect, text

from cmcc.bootstrap import Platform


def home_files(home: Path) -> dict[Path, bytes]:
    """Every file under the server's home folder, by path."""
    return {p: p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def database_bytes(platform: Platform) -> bytes:
    """The database's raw content: the SQLite file and its WAL, or PostgreSQL's rows as text."""
    if platform.settings.is_sqlite:
        db = Path(platform.engine.url.database or "")
        return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    url = platform.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    if shutil.which("pg_dump"):
        dump = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", url],
            capture_output=True,
            check=True,
            timeout=120,
        )
        return dump.stdout
    rows = []
    with platform.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows += [r[0] for r in conn.execute(text(f'SELECT t::text FROM "{table}" t'))]
    return "\n".join(rows).encode()
