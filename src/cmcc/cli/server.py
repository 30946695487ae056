"""`cmcc init`, `cmcc serve`, `cmcc demo`, `cmcc config check`."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer
from rich.table import Table

from cmcc.access.domain import Role
from cmcc.access.service import (
    add_user,
    create_token,
    hash_password,
    revoke_tokens,
    user_by_name,
)
from cmcc.cli.common import console, err_console, operator_session, platform
from cmcc.config import Settings
from cmcc.core.errors import NotFound
from cmcc.initialize import initialize
from cmcc.scenarios.loader import load_scenario

config_app = typer.Typer(help="Check the settings.", no_args_is_help=True)

DEMO_USERS = [
    ("admin", "CMCC", Role.ADMIN),
    ("staff", "CMCC", Role.STAFF_OFFICER),
    ("lo-idn", "IDN", Role.LIAISON_OFFICER),
    ("lo-gbr", "GBR", Role.LIAISON_OFFICER),
    ("unmas", "UNMAS", Role.HUMANITARIAN_PARTNER),
    ("auditor", "CMCC", Role.AUDITOR),
    ("mine", "UNMAS", Role.MINE_ACTION_OFFICER),
    ("tips", "CMCC", Role.TIP_OFFICER),
    ("funding", "CMCC", Role.FUNDING_OFFICER),
    ("donor-gbr", "GBR", Role.DONOR),
]


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)


def init() -> None:
    """Create or upgrade the database and seed the reference data (UN member states)."""
    with platform() as p:
        result = initialize(p)
    console.print(f"database ready: {result.database} ({result.states_added} states added)")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (CMCC_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CMCC_PORT)")] = None,
) -> None:
    """Run the API server, the web interface and the TAK gateway (CMCC_COT_* ports)."""
    import asyncio

    import uvicorn

    from cmcc.api.app import create_app
    from cmcc.cot import gateway
    from cmcc.tips.anonymity import uvicorn_log_config

    with platform() as p:
        initialize(p)
        bind = host or p.settings.host
        proxies = list(p.settings.trusted_proxies)
        config = uvicorn.Config(
            create_app(p),
            host=bind,
            port=port or p.settings.port,
            log_level="info",
            log_config=uvicorn_log_config(),  # no client address, no line for /public/
            proxy_headers=bool(proxies),  # X-Forwarded-* believed from these proxies only
            forwarded_allow_ips=proxies,
        )

        async def run() -> None:
            server = uvicorn.Server(config)
            tak = await gateway.start(p, bind)
            try:
                await server.serve()
            finally:
                if tak is not None:
                    await tak.stop()

        asyncio.run(run())


def demo(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up only")] = False,
) -> None:
    """Initialize, load the gaza-2025 scenario, issue demo tokens and serve."""
    with platform() as p:
        initialize(p)
        with operator_session(p, write=True, actor="system:demo") as session:
            added = load_scenario(session, "gaza-2025", aoi=p.settings.aoi_bbox, fence=p.fence())
            session.info["actor"] = "system:demo"
            secret = p.settings.secret_key.get_secret_value()
            tokens = []
            for name, org, role in DEMO_USERS:
                try:
                    user = user_by_name(session, name)
                except NotFound:
                    user = add_user(session, name, org, role)
                revoke_tokens(session, user, "demo")  # one live demo token per user
                password = secrets.token_urlsafe(9)  # new each run, shown once below
                user.password_hash = hash_password(password)
                tokens.append(
                    (
                        name,
                        org,
                        role.value,
                        password,
                        create_token(
                            session, user, secret, label="demo", ttl_days=p.settings.token_ttl_days
                        ),
                    )
                )
        url = f"http://{host or p.settings.host}:{port or p.settings.port}"
        loaded = ", ".join(f"{n} {k}" for k, n in added.items()) or "already loaded"
        console.print(f"scenario gaza-2025: {loaded}")
        table = Table(
            title="Demo users: sign in at the web address with the password, or send the token "
            "as  Authorization: Bearer <token>"
        )
        for col in ("user", "organization", "role", "password", "token"):
            table.add_column(col, overflow="fold")
        for row in tokens:
            table.add_row(*row)
        console.print(table)
        console.print(
            f"Web interface: {url}/  (sign in as staff, password {tokens[1][3]})\n"
            f"Try:  curl -H 'Authorization: Bearer {tokens[1][4]}' {url}/api/v1/forces/gaps\n"
            f"API description: {url}/openapi.json"
        )
    if not no_serve:
        serve(host=host, port=port)


@config_app.command("check")
def config_check() -> None:
    """Validate the CMCC_* settings and print them (secrets hidden)."""
    try:
        settings = Settings()
    except ValueError as exc:
        err_console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table("setting", "value", "from")
    for name in Settings.model_fields:
        env = f"CMCC_{name.upper()}"
        value = getattr(settings, name)
        shown = "********" if "secret" in name else str(value)
        table.add_row(env, shown, "environment" if env in os.environ else "default")
    table.add_row("(database)", settings.effective_database_url, "derived")
    console.print(table)
