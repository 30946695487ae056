"""Derived records follow their sources' markings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

An alert no longer carries a marking of its own: it is released to whoever may see every
record it names, at the moment of reading (cmcc.access.policy). So alerts lose `releasability`
and `release_to`, and gain the records a caveat alert is made from: the position (`track_id`)
and the pledge (`pledge_id`). Caveat alerts raised before are matched to their position from
their message (unit, time) where it can be found; one that cannot be matched names no subject
and is its owner's only, so no alert is released more widely than before.

A zone derived from another module's record (a cleared area from a hazard handed over) names
it in `derived_from` and follows its marking.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CAVEAT = re.compile(
    r" unit (?P<unit>.+?)(?: \(pledge [^)]*\))? entered .* at "
    r"(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)Z"
)


def _match_caveat_alerts(conn: sa.Connection) -> list[dict[str, int]]:
    """(alert, track, pledge) for each caveat alert whose position can be found."""
    tracks = sa.table(
        "tracks",
        sa.column("id", sa.Integer),
        sa.column("uid", sa.String),
        sa.column("callsign", sa.String),
        sa.column("owner_org_id", sa.Integer),
        sa.column("pledge_id", sa.Integer),
        sa.column("time", UTCDateTime()),
    )
    rows = conn.execute(
        sa.text(
            "SELECT id, owner_org_id, message FROM alerts "
            "WHERE kind = 'caveat_violation' AND incident_id IS NULL"
        )
    ).all()
    out = []
    for alert_id, owner, message in rows:
        found = _CAVEAT.search(message)
        if found is None:
            continue
        at = dt.datetime.fromisoformat(found["at"]).replace(tzinfo=dt.UTC)
        unit = found["unit"]
        track = conn.execute(
            sa.select(tracks.c.id, tracks.c.pledge_id)
            .where(
                tracks.c.owner_org_id == owner,
                sa.or_(tracks.c.uid == unit, tracks.c.callsign == unit),
                tracks.c.time >= at,
                tracks.c.time < at + dt.timedelta(seconds=1),
            )
            .order_by(tracks.c.id)
            .limit(1)
        ).first()
        if track is not None:
            out.append({"a": alert_id, "t": track.id, "p": track.pledge_id})
    return out


def upgrade() -> None:
    conn = op.get_bind()
    matched = _match_caveat_alerts(conn)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("track_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pledge_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_track_id_tracks"), "tracks", ["track_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_pledge_id_pledges"), "pledges", ["pledge_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_alerts_incident_id"), ["incident_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("ck_alerts_release_list"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_alerts_marking"), type_="check")
        batch_op.drop_column("releasability")
        batch_op.drop_column("release_to")
    for row in matched:
        conn.execute(sa.text("UPDATE alerts SET track_id = :t, pledge_id = :p WHERE id = :a"), row)

    op.add_column("zones", sa.Column("derived_from", sa.String(length=64), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE zones SET derived_from = 'hazard_areas:' || "
            "(SELECT CAST(h.id AS TEXT) FROM hazard_areas h WHERE h.cleared_zone_id = zones.id) "
            "WHERE id IN (SELECT cleared_zone_id FROM hazard_areas "
            "WHERE cleared_zone_id IS NOT NULL)"
        )
    )


def downgrade() -> None:
    op.drop_column("zones", "derived_from")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("releasability", sa.String(length=8), nullable=False, server_default="owner")
        )
        batch_op.add_column(sa.Column("release_to", sa.String(length=1000), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_alerts_release_list"),
            "(releasability = 'rel') = (release_to IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_alerts_marking"),
            "releasability IN ('public', 'mission', 'rel', 'owner')",
        )
        batch_op.drop_index(batch_op.f("ix_alerts_incident_id"))
        batch_op.drop_constraint(batch_op.f("fk_alerts_pledge_id_pledges"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_alerts_track_id_tracks"), type_="foreignkey")
        batch_op.drop_column("pledge_id")
        batch_op.drop_column("track_id")
