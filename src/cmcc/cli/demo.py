"""`cmcc demo`: the gaza-2025 scenario, demo users with fresh passwords and tokens, the server,
and the exercise driver next to it so the picture moves while a newcomer watches."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from cmcc.access.domain import Role
from cmcc.access.service import add_user, create_token, hash_password, revoke_tokens, user_by_name
from cmcc.cli.common import console, operator_session, platform
from cmcc.cli.exercise import local_address, script_of, summary
from cmcc.config import Settings
from cmcc.core.db import refresh_statistics
from cmcc.core.errors import NotFound
from cmcc.exercise import driver
from cmcc.initialize import initialize
from cmcc.scenarios.loader import load_scenario

DEMO_USERS = [
    ("admin", "CMCC", Role.ADMIN),
    ("staff", "CMCC", Role.STAFF_OFFICER),
    ("lo-idn", "IDN", Role.LIAISON_OFFICER),
    ("lo-gbr", "GBR", Role.LIAISON_OFFICER),
    ("unmas", "UNMAS", Role.HUMANITARIAN_PARTNER),
    ("unrwa", "UNRWA", Role.HUMANITARIAN_PARTNER),
    ("lo-cogat", "COGAT", Role.LIAISON_OFFICER),
    ("auditor", "CMCC", Role.AUDITOR),
    ("mine", "UNMAS", Role.MINE_ACTION_OFFICER),
    ("tips", "CMCC", Role.TIP_OFFICER),
    ("funding", "CMCC", Role.FUNDING_OFFICER),
    ("donor-gbr", "GBR", Role.DONOR),
]
CREDENTIALS_FILE = "demo-credentials.txt"
SCENARIO = "gaza-2025"


@dataclass(frozen=True)
class DemoLogin:
    user: str
    org: str
    role: str
    password: str  # for the web interface
    token: str  # for the API

    @property
    def line(self) -> str:
        """One user on one line of at most 80 columns (a terminal's width): never wrapped."""
        return f"{self.user:<9}  {self.password:<16}  {self.token}"


HEADER = f"{'user':<9}  {'password':<16}  token"


def issue_logins(session: Session, settings: Settings) -> list[DemoLogin]:
    """The demo users (added when missing), each with a new password and a new token; the
    previous demo token of each is revoked, so one is live per user."""
    secret = settings.secret_key.get_secret_value()
    logins = []
    for name, org, role in DEMO_USERS:
        try:
            user = user_by_name(session, name)
        except NotFound:
            user = add_user(session, name, org, role)
        revoke_tokens(session, user, "demo")
        password = secrets.token_urlsafe(12)  # 16 characters, new each run, shown once
        user.password_hash = hash_password(password)
        user.password_must_change = False  # the printed password signs in as it is
        token = create_token(session, user, secret, label="demo", ttl_days=settings.token_ttl_days)
        logins.append(DemoLogin(name, org, role.value, password, token))
    return logins


def write_logins(path: Path, logins: list[DemoLogin], url: str) -> None:
    """The same lines as on the terminal, in a file only its owner may read (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        f"# CMCC demo users at {url}/: sign in with the password, or send the token as\n"
        "#   Authorization: Bearer <token>\n"
        "# Written by `cmcc demo`; each run replaces the passwords and tokens.\n"
        f"{HEADER}\n" + "".join(f"{login.line}\n" for login in logins)
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # also when the file was there with a wider mode
        out.write(text)


def show_logins(logins: list[DemoLogin], path: Path) -> None:
    console.print("Demo users: sign in with the password, or send the token as")
    console.print("  Authorization: Bearer <token>")
    for line in (HEADER, *(login.line for login in logins)):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    roles = "; ".join(f"{login.user}: {login.org} {login.role}" for login in logins)
    console.print(f"Organizations and roles: {roles}.", markup=False, highlight=False)
    console.print(
        f"The same lines are in {path} (readable only by you).", soft_wrap=True, markup=False
    )


def demo(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up only")] = False,
    exercise: Annotated[
        bool | None,
        typer.Option(
            "--exercise/--no-exercise",
            help="Run the exercise driver next to the server (CMCC_DEMO_EXERCISE)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Initialize, load the gaza-2025 scenario, issue demo passwords and tokens, and serve with
    the exercise driver moving units and filing reports."""
    from cmcc.cli.server import serve

    with platform("api") as p:
        initialize(p)
        with operator_session(p, write=True, actor="system:demo") as session:
            added = load_scenario(session, SCENARIO, aoi=p.settings.aoi_bbox, fence=p.fence())
            session.info["actor"] = "system:demo"
            logins = issue_logins(session, p.settings)
        if added:
            refresh_statistics(p.engine)
        settings = p.settings
    bind = host or settings.host
    url = f"http://{local_address(bind)}:{port or settings.port}"
    loaded = ", ".join(f"{n} {k}" for k, n in added.items()) or "already loaded"
    console.print(f"scenario {SCENARIO}: {loaded}")
    path = (settings.home / CREDENTIALS_FILE).resolve()
    write_logins(path, logins, url)
    show_logins(logins, path)
    staff = next(login for login in logins if login.user == "staff")
    console.print(
        f"Web interface: {url}/  (sign in as staff, password {staff.password})\n"
        f"Try:  TOKEN={staff.token}\n"
        f'      curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/forces/gaps\n'
        f"API description: {url}/openapi.json",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    if no_serve:
        return
    if not (settings.demo_exercise if exercise is None else exercise):
        serve(host=host, port=port)
        return
    console.print(
        "Exercise: simulated units, incident reports and tips arrive while the server runs "
        "(cmcc demo --no-exercise, or CMCC_DEMO_EXERCISE=false, turns it off)."
    )
    target = driver.Target(url, staff.token, local_address(bind), settings.cot_tcp_port)
    tempo = driver.Tempo(
        settings.exercise_incidents_per_minute,
        settings.exercise_tips_per_minute,
        settings.exercise_report_seconds,
    )
    background = driver.InBackground(script_of(SCENARIO), target, tempo).start()
    try:
        serve(host=host, port=port)
    finally:
        console.print(summary(background.stop()), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
