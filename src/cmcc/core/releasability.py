"""Releasability markings: who may see a record. Pure rules, no database.

A marking is one of
  ``public``          everyone, including callers without a token;
  ``mission``         every member organization of the mission;
  ``rel:A,B,...``     the owner plus the listed nations (ISO 3166 alpha-3) or organizations;
  ``owner``           the owning organization only.
The owner always sees its own records. The SQL form of the same rule is
``cmcc.access.policy.release_filter``; `may_see` is the reference the tests compare it with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


class MarkingKind(StrEnum):
    PUBLIC = "public"
    MISSION = "mission"
    REL = "rel"
    OWNER = "owner"


class MarkingError(ValueError):
    pass


@dataclass(frozen=True)
class Marking:
    kind: MarkingKind
    release_to: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Marking:
        raw = text.strip()
        if raw.lower().startswith("rel:"):
            codes = [c.strip().upper() for c in raw[4:].split(",") if c.strip()]
            if not codes:
                raise MarkingError("rel: needs at least one nation or organization code")
            bad = [c for c in codes if not CODE_RE.match(c)]
            if bad:
                raise MarkingError(f"not a nation or organization code: {', '.join(bad)}")
            return cls(MarkingKind.REL, frozenset(codes))
        try:
            kind = MarkingKind(raw.lower())
        except ValueError:
            raise MarkingError(
                f"unknown marking {text!r}; use public, mission, owner or rel:<codes>"
            ) from None
        if kind is MarkingKind.REL:
            raise MarkingError("rel needs a list: rel:<code>,<code>")
        return cls(kind)

    def __str__(self) -> str:
        if self.kind is MarkingKind.REL:
            return "rel:" + ",".join(sorted(self.release_to))
        return self.kind.value

    @property
    def stored_list(self) -> str | None:
        """The release list as stored in the database: `|GBR|IDN|` (delimited at both ends)."""
        if self.kind is not MarkingKind.REL:
            return None
        return "|" + "|".join(sorted(self.release_to)) + "|"

    @classmethod
    def from_stored(cls, kind: str, stored_list: str | None) -> Marking:
        codes = frozenset(c for c in (stored_list or "").split("|") if c)
        return cls(MarkingKind(kind), codes)


@dataclass(frozen=True)
class Viewer:
    """Who is reading: an organization (code, mission membership), or the anonymous public."""

    org_id: int | None
    org_code: str | None
    is_member: bool
    sees_all: bool = False  # the local system operator (CLI); never an API caller

    @classmethod
    def public(cls) -> Viewer:
        return cls(org_id=None, org_code=None, is_member=False)


def may_see(marking: Marking, owner_org_id: int, viewer: Viewer) -> bool:
    """The release policy as a pure function (reference implementation)."""
    if viewer.sees_all or marking.kind is MarkingKind.PUBLIC:
        return True
    if viewer.org_id is None:
        return False
    if owner_org_id == viewer.org_id:
        return True
    if marking.kind is MarkingKind.MISSION:
        return viewer.is_member
    if marking.kind is MarkingKind.REL:
        return viewer.org_code in marking.release_to
    return False
