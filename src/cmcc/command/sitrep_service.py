"""Issuing the SITREP: generate it for an organization and a day, archive it (owner: the
audience organization, marked owner, with its bytes and their SHA-256), and read the archive
back through the release policy. The audit log records each issue (the row names its
audience and who generated it); the hash-chained audit hook writes it on insert."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, release_filter
from cmcc.command import sitrep_pdf, sitrep_render
from cmcc.command.models import Sitrep
from cmcc.command.sitrep import SitrepData, gather
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Marking, MarkingKind, Viewer

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
EARLIEST = dt.date(2000, 1, 1)


class SitrepFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"


@dataclass(frozen=True)
class Rendered:
    data: SitrepData
    format: SitrepFormat
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format.value]

    @property
    def filename(self) -> str:
        return f"sitrep-{self.data.day.isoformat()}-{self.data.audience}.{self.format.value}"


def check_date(day: dt.date, today: dt.date, field: str = "query.date") -> None:
    if day < EARLIEST or day > today:
        raise InvalidInput.field(field, f"{day} is not a day from {EARLIEST} to today ({today})")


def render(data: SitrepData, fmt: SitrepFormat) -> Rendered:
    html = sitrep_render.document(data)
    if fmt is SitrepFormat.PDF:
        return Rendered(data, fmt, sitrep_pdf.to_pdf(html))
    return Rendered(data, fmt, html.encode())


def generate(
    session: Session, org_code: str, day: dt.date, fmt: SitrepFormat, low_days: float
) -> Rendered:
    """The report for `org_code` (what that organization may see), not yet archived;
    `low_days`: the settings' CMCC_LOGSTAT_MIN_DAYS."""
    return render(gather(session, org_code, day, low_days=low_days), fmt)


def archive(
    session: Session, rendered: Rendered, org_id: int, by: str, *, scheduled: bool = False
) -> Sitrep:
    """Keep an issued report; the audit hook records the insert (audience, generated_by)."""
    row = Sitrep(
        report_date=rendered.data.day,
        audience=rendered.data.audience,
        format=rendered.format.value,
        content=rendered.content,
        sha256=rendered.sha256,
        generated_by=by,
        scheduled=scheduled,
        owner_org_id=org_id,
    )
    row.marking = Marking(MarkingKind.OWNER)
    session.add(row)
    session.flush()
    return row


def issue_for_caller(
    session: Session, principal: Principal, day: dt.date, fmt: SitrepFormat, low_days: float
) -> Rendered:
    """The caller's own organization's report (needs issue_sitreps); archive it with
    `archive` in a write unit of work."""
    require(principal, Permission.ISSUE_SITREPS)
    if principal.org_code is None:
        raise InvalidInput.field("principal", "a SITREP is issued for an organization")
    return generate(session, principal.org_code, day, fmt, low_days)


def archived(session: Session, viewer: Viewer, day: dt.date | None = None) -> list[Sitrep]:
    """The archive the viewer may see (newest first), without the reports' bytes."""
    stmt = select(Sitrep).options(defer(Sitrep.content)).where(release_filter(Sitrep, viewer))
    if day is not None:
        stmt = stmt.where(Sitrep.report_date == day)
    return list(session.scalars(stmt.order_by(Sitrep.report_date.desc(), Sitrep.id.desc())))


def archived_one(session: Session, viewer: Viewer, sitrep_id: int) -> Sitrep:
    return get_visible(session, Sitrep, sitrep_id, viewer)


def issued_keys(session: Session, viewer: Viewer, day: dt.date, fmt: str) -> set[str]:
    """The audiences that already have a report of `day` in format `fmt` that `viewer` may
    see (the scheduler, as the operator, sees them all): its check against issuing twice."""
    stmt = select(Sitrep.audience).where(
        release_filter(Sitrep, viewer), Sitrep.report_date == day, Sitrep.format == fmt
    )
    return set(session.scalars(stmt))
