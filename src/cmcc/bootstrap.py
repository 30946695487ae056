"""The composition root: the one place that picks the database and wires the audit hook."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from cmcc.access.domain import Principal
from cmcc.audit.service import record_flush
from cmcc.config import Settings
from cmcc.core.changes import on_picture_change
from cmcc.core.db import WRITE_OPTION, make_engine
from cmcc.core.errors import Conflict, VersionConflict
from cmcc.core.events import Event, EventBus
from cmcc.core.uow import pop_after_commit
from cmcc.core.written import PUBLISH, collect
from cmcc.geo.backend import SpatialBackend, backend_for
from cmcc.geo.geofence import GeofenceEngine
from cmcc.humanitarian import advisories
from cmcc.humanitarian.rules import Rules
from cmcc.zones.service import follow_fence, load_fence


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    spatial: SpatialBackend
    bus: EventBus = field(default_factory=EventBus)
    _fence: GeofenceEngine | None = None
    _fence_lock: threading.Lock = field(default_factory=threading.Lock)

    def fence(self) -> GeofenceEngine:
        """The geofence engine, filled from the zones on first use and kept current by the
        zone services after each commit."""
        if self._fence is None:
            with self._fence_lock:
                if self._fence is None:
                    engine = GeofenceEngine()
                    with self.unit_of_work(Principal.system_operator()) as session:
                        load_fence(session, engine)
                    self._fence = engine
        return self._fence

    @contextmanager
    def unit_of_work(self, principal: Principal, *, write: bool = False) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls back on any error.

        Every row it writes is audited under the principal's name, in the same transaction.
        """
        bind = self.engine.execution_options(**{WRITE_OPTION: write})
        session = self.sessions(bind=bind)
        session.info["actor"] = principal.actor
        try:
            with session.begin():
                yield session
            for action in pop_after_commit(session):
                action()
        except StaleDataError as exc:
            raise VersionConflict(
                "the record was changed by someone else since you read it; reload and retry"
            ) from exc
        except IntegrityError as exc:
            raise Conflict(integrity_message(exc)) from exc
        finally:
            session.close()

    def follow_zones(self, event: Event) -> None:
        """Bus listener (other instances' events): zones written elsewhere, into this
        instance's geofence, if it has been loaded; all of them again after the broker was
        away (what was written meanwhile was not announced here)."""
        with self._fence_lock:  # a fence being loaded now is loaded first, then follows
            fence = self._fence
        if fence is None:
            return
        if event.get("type") == "resync":
            with self.unit_of_work(Principal.system_operator()) as session:
                load_fence(session, fence)
        elif event.get("type") == "changed" and event.get("table") == "zones":
            with self.unit_of_work(Principal.system_operator()) as session:
                follow_fence(session, fence, [int(i) for i in event.get("ids", [])])

    def dispose(self) -> None:
        self.engine.dispose()


SETTINGS = "settings"  # session.info key: the settings of the platform the session belongs to


def settings_of(session: Session) -> Settings:
    """The settings of the platform whose unit of work this session is (the TAK CA's
    passphrase and lifetimes, for the services that take only a session)."""
    settings = session.info.get(SETTINGS)
    if not isinstance(settings, Settings):
        raise RuntimeError("not a session of the platform (bootstrap's unit of work)")
    return settings


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        return "a record with the same identifying value already exists"
    if "foreign key" in text:
        return "the record refers to a record that does not exist"
    return "the change conflicts with stored records"


def bootstrap(settings: Settings | None = None, *, role: str = "api") -> Platform:
    """The platform of one process; `role` (api, gateway, worker, cli) names its connection
    to NATS when CMCC_NATS_URL is set."""
    settings = settings or Settings()
    if settings.is_sqlite and not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(
        settings.effective_database_url, busy_seconds=settings.database_wait_seconds
    )
    bus = _bus(settings, role)
    # Every committed write is announced on the bus (cmcc.core.written).
    sessions = sessionmaker(expire_on_commit=False, info={PUBLISH: bus.publish, SETTINGS: settings})
    event.listen(sessions, "after_flush", record_flush)
    event.listen(sessions, "after_flush", collect)
    platform = Platform(settings, engine, sessions, backend_for(engine), bus)
    bus.listen(platform.follow_zones, remote_only=True)
    # Humanitarian notifications are re-checked in the transaction of each change they depend on.
    advisories.configure(Rules.of(settings), platform.bus)
    on_picture_change(advisories.on_picture_change)
    return platform


def _bus(settings: Settings, role: str) -> EventBus:
    if not settings.nats_url:
        return EventBus()
    from cmcc.broker.bus import NatsBus
    from cmcc.broker.connection import Broker

    return NatsBus(Broker(settings.nats_url, settings.nats_namespace, role))
