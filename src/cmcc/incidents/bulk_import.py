"""Bulk load mode of the incident import (`cmcc import incidents FILE --bulk`).

The same file reading, row checks, duplicates rule (refs already stored, or repeated in the
file, are skipped), geofence alerts and one audit entry per batch (`<first>-<last>`) as the
normal import (`cmcc.incidents.importer`), with three differences:

- it runs only with the database to itself: no server running on it (`cmcc.ops.presence`) and,
  on PostgreSQL, the incidents table locked ACCESS EXCLUSIVE for the whole load; otherwise
  `ServerRunning` is raised before anything is written;
- the spatial index is set aside during the load and built once at the end (`cmcc.geo.bulk`:
  R*Tree in Z-order on SQLite, CREATE INDEX on PostgreSQL);
- the whole load is ONE transaction: all or nothing. A bad row, an unreadable part of the file
  or a database failure rolls everything back (the report lists every problem); a killed
  process leaves the table and its index as before, since the index changes are in the same
  transaction. Nothing to resume: run it again once the file is fixed.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.core.dbfaults import database_fault
from cmcc.geo import bulk as spatial
from cmcc.incidents.importer import (
    SQLITE_BATCH_CACHE_KIB,
    Checked,
    ImportOptions,
    ImportReport,
    Progress,
    RowError,
    Rows,
    _checked,
    _chunks,
    _open,
    _reason,
    _Run,
    _stop_errors,
    detect_format,
    store_batch,
)
from cmcc.interop.tabular import FormatError, file_sha256, read_ahead
from cmcc.ops.presence import ServerRunning, no_server, refuse_if_serving

TABLE, TIME_COLUMN = "incidents", "occurred_at"


class _Undo(Exception):
    """Leaves the load's transaction so that it is rolled back."""


def bulk_import_incidents(
    platform: Platform,
    source: Path | bytes,
    options: ImportOptions,
    *,
    name: str = "",
    on_error: Callable[[RowError], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> ImportReport:
    """Check and store every row of the file in one transaction, or none; see the module's
    docstring. Raises ServerRunning (nothing written) when the database is not free, and
    InvalidInput when the file cannot be read at all. Otherwise `report.stopped` says why
    nothing was stored, or is None when every good row is."""
    started = time.perf_counter()
    report = ImportReport(file_sha256(source))
    binary, total = _open(source)
    dialect = platform.engine.dialect.name
    with binary, no_server(platform.engine):
        head = binary.read(64)
        binary.seek(0)
        label = name or (source.name if isinstance(source, Path) else "")
        fmt = options.fmt or detect_format(label, head)
        stream = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        chunks = _chunks(stream, fmt, options, report)  # InvalidInput before any write
        run = _Run(platform, options, report)
        checked = _checked(chunks, options, report.file_sha256[:12])
        try:
            with (
                platform.unit_of_work(Principal.system_operator(), write=True) as session,
                _large_cache(session),
            ):
                session.info["actor"] = options.actor
                if dialect == "postgresql":
                    refuse_if_serving(session, TABLE)
                _load(session, run, checked, on_error, on_progress, (binary, total))
                commit_tick = time.perf_counter()
            report.add_time("commit", time.perf_counter() - commit_tick)
        except _Undo:
            _nothing_stored(report)
        except ServerRunning:
            raise  # a DomainError, but a refusal, not a failure of the load
        except _stop_errors() as exc:
            report.fault = database_fault(exc)
            report.stopped = f"the load failed and was rolled back whole: {_reason(exc)}"
            _nothing_stored(report)
    report.timings["total"] = time.perf_counter() - started
    return report


def _load(
    session: Session,
    run: _Run,
    checked: Iterator[Checked],
    on_error: Callable[[RowError], None] | None,
    on_progress: Callable[[Progress], None] | None,
    file: tuple[BinaryIO, int],
) -> None:
    """Every batch, then the index; raises _Undo when nothing may be kept."""
    report, dialect = run.report, session.get_bind().dialect.name
    tick = time.perf_counter()
    index = spatial.suspend(session, TABLE, TIME_COLUMN)
    report.add_time("index", time.perf_counter() - tick)
    ahead = 1 if dialect == "postgresql" else 0  # as the normal import (measured)
    with read_ahead(checked, ahead) as items:
        line = 0
        while True:
            try:
                item = next(items, None)
            except (FormatError, UnicodeDecodeError) as exc:
                report.stopped = f"the file cannot be read after line {line}: {exc}"
                break
            if item is None:
                break
            run.count(item, on_error)
            line = item.last_line
            if len(item.rows) and not report.bad_rows:
                _store(session, run, item.rows, f"{item.first_line}-{line}")
            if on_progress is not None:
                on_progress(Progress(file[0].tell(), file[1], report))
    if report.bad_rows and report.stopped is None:
        report.stopped = (
            f"{report.bad_rows:,} bad rows: nothing was stored (a bulk load is all or nothing); "
            "fix them and run it again"
        )
    if report.stopped is not None:
        raise _Undo
    tick = time.perf_counter()
    spatial.rebuild(session, index)
    report.add_time("index", time.perf_counter() - tick)


def _store(session: Session, run: _Run, rows: Rows, lines: str) -> None:
    report, tick = run.report, time.perf_counter()
    result = store_batch(
        session,
        rows,
        run.options,
        file_sha=report.file_sha256,
        lines=lines,
        fence=run.fence,
        bus=run.platform.bus,
    )
    report.count_batch(result, tick)


@contextmanager
def _large_cache(session: Session) -> Iterator[None]:
    """SQLite: the page cache raised for the whole load (as the normal import does for each
    batch), put back afterwards whatever happens (the connection returns to the pool). The
    load is one transaction: with the default 2 MB cache its dirty pages spill to the WAL and
    are read back again and again (measured: the R*Tree build after 1,000,000 rows took 39 s)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    raw = session.connection().connection.driver_connection
    usual = int(raw.execute("PRAGMA cache_size").fetchone()[0])  # type: ignore[union-attr]
    raw.execute(f"PRAGMA cache_size = {-SQLITE_BATCH_CACHE_KIB}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {usual}")  # type: ignore[union-attr]


def _nothing_stored(report: ImportReport) -> None:
    report.stored = report.skipped = report.alerts = report.batches = 0
