"""One Settings object for the whole platform, read from CMCC_* environment variables."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "development-only-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """Platform settings. Every field is documented in docs/operations/settings.md."""

    model_config = SettingsConfigDict(env_prefix="CMCC_", env_file=None, extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        "development", description="development allows the default secret; production refuses it."
    )
    home: Path = Field(Path(".cmcc"), description="Folder for the embedded database and files.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Unset: SQLite file CMCC_HOME/cmcc.sqlite3. "
        "At scale: postgresql+psycopg://user@host:5432/dbname (PostGIS required).",
    )
    database_wait_seconds: float = Field(
        10.0,
        ge=0,
        le=600,
        description="How long a request waits for the database before it is refused with "
        "503: on SQLite, for another writer's lock (the database is busy); on PostgreSQL, for "
        "a new connection to the server (the database is not available).",
    )
    nats_url: str | None = Field(
        None,
        description="NATS server with JetStream (nats://host:4222, several separated by "
        "commas). Unset: one process, the in-process event bus. Set: alerts, live feeds, zone "
        "changes and the TAK relay go between every instance through NATS, and positions "
        "reach the database through the `cmcc worker` processes.",
    )
    nats_namespace: str = Field(
        "cmcc",
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="First token of every NATS subject and prefix of every JetStream stream "
        "and consumer name: platforms sharing one NATS server keep apart by it.",
    )
    positions_max_bytes: int = Field(
        1 << 30,
        ge=1 << 20,
        description="Most bytes of positions the JetStream stream holds for the `cmcc worker` "
        "processes (when CMCC_NATS_URL is set); beyond it the stream refuses new ones and "
        "the gateways keep them in their backlog.",
    )
    positions_max_age_hours: float = Field(
        72.0,
        gt=0,
        description="Positions not stored by a worker within this many hours leave the stream "
        "unstored (the one way an acknowledged position is lost; the log of the stream says).",
    )
    positions_backlog_events: int = Field(
        200_000,
        ge=1000,
        description="Positions a gateway keeps while NATS does not acknowledge them (down, or "
        "the stream full); beyond it the oldest are dropped, counted and logged.",
    )
    worker_batch_messages: int = Field(
        16,
        ge=1,
        le=256,
        description="Messages of positions (one per gateway flush) a `cmcc worker` fetches "
        "and stores in one transaction.",
    )
    worker_ack_wait_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="A fetched message not acknowledged in this time goes to another worker "
        "(a worker waiting for the database tells NATS it is still working on it).",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET),
        description="Server-side secret (pepper for hashes). Must be set outside development.",
    )
    host: str = Field("127.0.0.1", description="Address `cmcc serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `cmcc serve` binds to.")
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Reverse proxies whose X-Forwarded-* headers `cmcc serve` believes: "
        "addresses or networks, separated by commas. Empty: none, the headers are ignored.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted, in bytes (413 above)."
    )
    aoi_bbox: tuple[float, float, float, float] = Field(
        (33.5, 30.5, 35.5, 32.5),
        description="The mission's area of interest (min lon, min lat, max lon, max lat): "
        "geometries outside it are refused unless the request sets outside_aoi.",
    )
    duplicate_distance_m: float = Field(
        500.0,
        gt=0,
        le=100_000,
        description="Incidents of one type closer than this are "
        "suggested as possible duplicates (with the time window below).",
    )
    duplicate_window_hours: float = Field(
        6.0, gt=0, le=720, description="Time window for possible duplicate incidents."
    )
    token_ttl_days: int = Field(
        30, ge=1, le=3650, description="Lifetime of tokens issued by password login."
    )
    password_min_length: int = Field(
        15,
        ge=8,
        le=64,
        description="Shortest password a user may choose (NIST SP 800-63B: 15 where the "
        "password alone signs in). Longest: 256 characters.",
    )
    totp_roles: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Roles that must sign in with a TOTP code besides the password, separated "
        "by commas (such as admin, auditor). Empty: none; any user may still enrol one.",
    )
    # --- Sign-in throttling (cmcc.access.throttle): web, API and TAK enrollment ---
    signin_free_failures: int = Field(
        3,
        ge=1,
        le=100,
        description="Failed sign-ins in a row an account name may have before each further "
        "attempt must wait: 1 s, then twice as long after each failure, up to "
        "CMCC_SIGNIN_MAX_DELAY_SECONDS.",
    )
    signin_lockout_failures: int = Field(
        10,
        ge=2,
        le=1000,
        description="Failed sign-ins in a row that lock an account name for "
        "CMCC_SIGNIN_LOCKOUT_MINUTES (an administrator may unlock it sooner).",
    )
    signin_address_free_failures: int = Field(
        10,
        ge=1,
        le=10_000,
        description="The same as CMCC_SIGNIN_FREE_FAILURES, per client address (whatever the "
        "account names): many users may sign in from one office's address.",
    )
    signin_address_lockout_failures: int = Field(
        30,
        ge=2,
        le=100_000,
        description="The same as CMCC_SIGNIN_LOCKOUT_FAILURES, per client address.",
    )
    signin_max_delay_seconds: int = Field(
        60, ge=1, le=3600, description="Longest wait between two attempts before a lockout."
    )
    signin_lockout_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="How long a lockout lasts; also how long failures are remembered: a "
        "failure this long after the previous one starts the count again.",
    )
    tip_photo_max_bytes: int = Field(
        5_242_880, ge=10_240, le=52_428_800, description="Largest photo accepted with a tip."
    )
    tip_pow_bits: int = Field(
        16, ge=0, le=28, description="Proof of work per public tip request (leading zero bits)."
    )
    tip_challenge_ttl_seconds: int = Field(
        900, ge=60, le=86_400, description="Lifetime of a proof-of-work challenge."
    )
    tip_rate_per_hour: int = Field(
        600, ge=1, description="Tips accepted per hour from everyone together (429 above)."
    )
    tip_duplicate_distance_m: float = Field(
        300.0, gt=0, le=100_000, description="Tips closer than this are flagged as duplicates."
    )
    tip_duplicate_window_hours: float = Field(
        72.0, gt=0, le=8760, description="Time window for flagging duplicate tips."
    )
    cot_tcp_port: int = Field(
        8087, ge=0, le=65535, description="CoT TCP streaming port of the TAK gateway (0: off)."
    )
    cot_tak_port: int = Field(
        8088, ge=0, le=65535, description="Second CoT TCP streaming port, TAK Server's (0: off)."
    )
    cot_udp_port: int = Field(8087, ge=0, le=65535, description="CoT UDP port (0: off).")
    cot_relay: Literal["mission", "open"] = Field(
        "mission",
        description="Relay between TAK clients: registered devices only (mission), or all.",
    )
    cot_max_clients: int = Field(1000, ge=1, description="Most TAK connections at once.")
    cot_max_event_bytes: int = Field(
        65_536, ge=1024, le=16 * 1024 * 1024, description="Largest CoT event accepted."
    )
    cot_client_buffer_bytes: int = Field(
        1 << 20, ge=4096, description="Bytes waiting for one TAK client before it is dropped."
    )
    cot_idle_seconds: float = Field(
        60.0, gt=0, description="A TAK client silent this long is dropped."
    )
    cot_udp_trusted: bool = Field(
        False,
        description="CoT datagrams (which carry no identity) may move registered devices and "
        "raise alerts in their name: only on a closed network.",
    )
    cot_max_kept: int = Field(
        20_000, ge=1, description="Latest CoT events kept for replay to joining clients, in all."
    )
    cot_max_kept_per_client: int = Field(
        500, ge=1, description="Latest CoT events kept for replay from one TAK connection."
    )
    cot_max_kept_seconds: float = Field(
        86_400.0,
        gt=0,
        description="A CoT event is kept for replay at most this long, whatever its stale time.",
    )
    # TAK over TLS (issue 16, tls): CoT streaming with client certificates, the plain ports.
    cot_tls_port: int = Field(
        8089,
        ge=0,
        le=65535,
        description="CoT streaming over TLS with a client certificate per device (0: off); "
        "open once a TAK certificate authority exists (`cmcc tak ca init`).",
    )
    cot_plain: Literal["auto", "on", "off"] = Field(
        "auto",
        description="The plain CoT ports (TCP, TAK, UDP): on, off, or auto (off once a TAK "
        "certificate authority exists and the TLS port is set, on otherwise).",
    )
    # --- TAK certificate authority (cmcc.tak.pki) ---
    tak_hostnames: str = Field(
        "localhost,127.0.0.1",
        description="The names and addresses TAK devices reach the gateway at, separated by "
        "commas: the gateway's server certificate is issued for them.",
    )
    tak_ca_passphrase: SecretStr | None = Field(
        None,
        description="Passphrase of the TAK CA's private key (stored encrypted in the database). "
        "Unset: `cmcc tak ca init` generates one into CMCC_HOME/tak-ca.passphrase (mode 0600).",
    )
    tak_cert_days: int = Field(
        365, ge=1, le=3650, description="Lifetime of a TAK device's client certificate, in days."
    )
    tak_ca_days: int = Field(
        3650, ge=30, le=7300, description="Lifetime of the TAK CA's certificate, in days."
    )
    # ---- TAK data packages (issue 16, item 5: the Marti server on 8443) ----
    tak_https_port: int = Field(
        8443,
        ge=0,
        le=65535,
        description="HTTPS port of the TAK data package server, with client certificates (0: off).",
    )
    tak_package_max_bytes: int = Field(
        52_428_800, ge=1024, le=1 << 31, description="Largest data package accepted (bytes)."
    )
    tak_package_max_unpacked_bytes: int = Field(
        268_435_456,
        ge=1024,
        le=1 << 34,
        description="Most bytes all the files of a zipped data package may hold once unpacked.",
    )
    tak_package_max_entries: int = Field(
        2000, ge=1, le=100_000, description="Most files in a zipped data package."
    )
    tak_package_max_ratio: int = Field(
        100,
        ge=2,
        le=10_000,
        description="Most a zipped data package, or one of its files, may grow when unpacked "
        "(unpacked size over packed size).",
    )
    tak_picture_package_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 30,
        description="The picture's mission package: its items are stale this many hours "
        "after it was made.",
    )
    demo_exercise: bool = Field(
        True, description="`cmcc demo` runs the exercise driver next to the server it starts."
    )
    exercise_incidents_per_minute: float = Field(
        2.0, ge=0, le=600, description="Exercise: incident reports filed per minute (0: none)."
    )
    exercise_tips_per_minute: float = Field(
        1.0, ge=0, le=600, description="Exercise: public tips sent per minute (0: none)."
    )
    exercise_report_seconds: float = Field(
        5.0, ge=0.2, le=30, description="Exercise: seconds between a unit's position reports."
    )
    logstat_min_days: float = Field(
        3.0, ge=0, le=60, description="A LOGSTAT below this many days of a supply raises an alert."
    )
    site_buffer_m: float = Field(
        300.0,
        gt=0,
        le=5000,
        description="Around a notified humanitarian site: an incident this close raises an "
        "alert, and advisories look this far (metres; a notification may set its own).",
    )
    route_buffer_m: float = Field(
        500.0,
        gt=0,
        le=5000,
        description="Either side of a notified movement's route: the corridor watched for "
        "incidents, restricted areas, hazards and tasks (metres; a notification may set its own).",
    )
    advisory_incident_m: float = Field(
        1000.0,
        gt=0,
        le=20000,
        description="A verified incident this close to a notified site or route (metres) is "
        "named in its advisories...",
    )
    advisory_incident_days: float = Field(
        7.0,
        gt=0,
        le=365,
        description="... when it occurred within this many days before the notification's "
        "validity or during it.",
    )
    notice_hours: float = Field(
        48.0,
        ge=0,
        le=720,
        description="A movement notified less than this many hours ahead is flagged as short "
        "notice (it is received all the same: a notification is never refused for it).",
    )
    basemap_file: Path | None = Field(
        None,
        description="A local raster MBTiles file drawn under the web map (no online tile server).",
    )
    sitrep_time: str | None = Field(
        None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Time of day (HH:MM, UTC) the server issues and archives yesterday's "
        "SITREP for each organization of CMCC_SITREP_ORGS. Unset: no schedule.",
    )
    sitrep_orgs: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Organization codes, separated by commas, that get the scheduled SITREP "
        "(each sees only what is released to it). Empty: no schedule.",
    )
    # --- TAK certificate enrollment and connection packages (cmcc.tak.enrollment) ---
    tak_enroll_port: int = Field(
        8446,
        ge=0,
        le=65535,
        description="HTTPS port where TAK devices enroll for a certificate with a user's name "
        "and password (TAK Server's 8446; 0: off).",
    )

    @field_validator("sitrep_orgs", mode="before")
    @classmethod
    def _org_codes(cls, value: object) -> object:
        """`IDN, GBR` -> ("IDN", "GBR")."""
        if isinstance(value, str):
            return tuple(c.strip().upper() for c in value.split(",") if c.strip())
        return value

    @field_validator("totp_roles", mode="before")
    @classmethod
    def _role_names(cls, value: object) -> object:
        """`admin, auditor` -> ("admin", "auditor"); each must be a role."""
        from cmcc.access.domain import Role

        if isinstance(value, str):
            value = tuple(r.strip().lower() for r in value.split(",") if r.strip())
        if isinstance(value, list | tuple):
            known = {r.value for r in Role}
            unknown = [r for r in value if r not in known]
            if unknown:
                raise ValueError(
                    f"unknown role(s) {', '.join(map(str, unknown))}; roles are "
                    + ", ".join(sorted(known))
                )
            return tuple(value)
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
        """`10.0.0.5, 10.1.0.0/16` (or a JSON list): each an address or a network, normalised."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else re.split(r"[,\s]+", text)
        if not isinstance(value, list | tuple):
            return value
        proxies = []
        for item in (str(v).strip() for v in value):
            if not item:
                continue
            try:
                proxies.append(
                    str(ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item))
                )
            except ValueError as exc:
                raise ValueError(
                    f"{exc}: name proxies by address or network, such as 10.0.0.5 or 10.0.0.0/24"
                ) from None
        return tuple(proxies)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value() == DEFAULT_SECRET
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "CMCC_SECRET_KEY must be set to a random value of at least 32 characters "
                "when CMCC_ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _lockout_after_delays(self) -> Settings:
        for kind, free, lockout in (
            ("", self.signin_free_failures, self.signin_lockout_failures),
            ("ADDRESS_", self.signin_address_free_failures, self.signin_address_lockout_failures),
        ):
            if lockout <= free:
                raise ValueError(
                    f"CMCC_SIGNIN_{kind}LOCKOUT_FAILURES ({lockout}) must be more than "
                    f"CMCC_SIGNIN_{kind}FREE_FAILURES ({free})"
                )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'cmcc.sqlite3').resolve()}"

    @property
    def tak_hostname_list(self) -> tuple[str, ...]:
        """CMCC_TAK_HOSTNAMES as a tuple: `tak.example.org, 10.0.0.5` -> both, in order."""
        return tuple(h.strip() for h in self.tak_hostnames.split(",") if h.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
