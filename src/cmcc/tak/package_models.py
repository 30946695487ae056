"""A TAK data package as stored: its bytes in the database (so every gateway serves it and
`cmcc backup` keeps it), its SHA-256, what the uploading device said of it, an owner and a
releasability marking.

One row per (hash, owner organization): two organizations that upload the same file each have
their own row, so neither learns from an upload that the other has it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base
from cmcc.core.records import Releasable, marking_checks

TOOLS = ("public", "private")


class TakDataPackage(Releasable, Base):
    __tablename__ = "tak_data_packages"
    __audit_redact__ = frozenset({"content"})  # the audit keeps its SHA-256, not the bytes
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint("tool IN ('public', 'private')", name="tool"),
        UniqueConstraint("hash", "owner_org_id", name="uq_tak_data_packages_hash_owner"),
    )

    hash: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256, lower-case hex
    name: Mapped[str] = mapped_column(String(255))
    # `|kw1|kw2|` (delimited at both ends, as release lists are), matched whole in searches
    keywords: Mapped[str] = mapped_column(String(1000), default="")
    mime_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int]
    creator_uid: Mapped[str] = mapped_column(String(200))  # the device of the certificate
    # TAK's tool: `public` packages are listed to everyone who may see them; `private` ones
    # only to their own organization (the others fetch them by hash, as a device sends them)
    tool: Mapped[str] = mapped_column(String(16), default="private")
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.split("|") if k]
