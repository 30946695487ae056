"""The SITREP on a schedule: each day at CMCC_SITREP_TIME (UTC) the server issues and archives
yesterday's report for each organization of CMCC_SITREP_ORGS (off when either is unset).

`due` is the whole decision, pure: which (day, organization) reports to issue now, given what
is already archived, so a restart or a second pass never issues one twice. `run` is the
server's background task around it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Collection, Iterable

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform
from cmcc.command import sitrep_pdf, sitrep_service
from cmcc.command.sitrep_service import SitrepFormat

log = logging.getLogger("cmcc.sitrep")
POLL_SECONDS = 60.0
ACTOR = "system:sitrep-schedule"


def parse_time(text: str) -> dt.time:
    """`HH:MM` (UTC), 00:00 to 23:59."""
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day HH:MM (UTC), such as 06:00") from None


def due(
    now: dt.datetime,
    at: dt.time | None,
    orgs: Iterable[str],
    issued: Collection[str],
) -> tuple[dt.date, list[str]]:
    """The day to report on (yesterday, UTC) and the organizations whose report of it is due
    now: none before `at` o'clock UTC or when the schedule is off (`at` None); never one in
    `issued` (the audiences that already have that day's report)."""
    now = now.astimezone(dt.UTC)
    day = now.date() - dt.timedelta(days=1)
    if at is None or now.time() < at:
        return day, []
    seen: set[str] = set()
    out = []
    for org in orgs:
        if org and org not in issued and org not in seen:
            seen.add(org)
            out.append(org)
    return day, out


def scheduled_format() -> SitrepFormat:
    """PDF, or HTML (with a message in the log) when the PDF library cannot load."""
    if sitrep_pdf.pdf_available():
        return SitrepFormat.PDF
    log.warning("SITREP schedule: the PDF library cannot load (make pdf); issuing HTML")
    return SitrepFormat.HTML


def issue_due(platform: Platform, now: dt.datetime) -> list[str]:
    """One pass: issue and archive every report due at `now`; the audiences issued."""
    settings = platform.settings
    if not settings.sitrep_time or not settings.sitrep_orgs:
        return []
    at = parse_time(settings.sitrep_time)
    fmt = scheduled_format()
    day = now.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    operator = Principal.system_operator()
    with platform.unit_of_work(operator) as session:
        issued = sitrep_service.issued_keys(session, operator.viewer, day, fmt.value)
    day, orgs = due(now, at, settings.sitrep_orgs, issued)
    done = []
    for code in orgs:
        with platform.unit_of_work(operator) as session:
            rendered = sitrep_service.generate(session, code, day, fmt, settings.logstat_min_days)
        with platform.unit_of_work(operator, write=True) as session:
            session.info["actor"] = ACTOR
            if code in sitrep_service.issued_keys(session, operator.viewer, day, fmt.value):
                continue  # issued meanwhile (another server)
            org = org_by_code(session, code)
            sitrep_service.archive(session, rendered, org.id, ACTOR, scheduled=True)
        log.info("SITREP %s issued to %s (%s)", day, code, fmt.value)
        done.append(code)
    return done


async def run(platform: Platform, poll_seconds: float = POLL_SECONDS) -> None:
    """The background task: a pass every `poll_seconds` until cancelled."""
    while True:
        try:
            await asyncio.to_thread(issue_due, platform, dt.datetime.now(dt.UTC))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SITREP schedule: a pass failed; trying again at the next")
        await asyncio.sleep(poll_seconds)


def start(platform: Platform) -> asyncio.Task[None] | None:
    """Start the schedule in the running loop when it is set; None when it is off."""
    settings = platform.settings
    if not settings.sitrep_time or not settings.sitrep_orgs:
        return None
    log.info("SITREP schedule: daily at %s UTC for %s", settings.sitrep_time, settings.sitrep_orgs)
    return asyncio.get_running_loop().create_task(run(platform))
