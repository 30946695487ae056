"""`cmcc tak package`: a connection data package for a TAK device, from the operator's seat."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cmcc.access.domain import Principal
from cmcc.cli.common import console, err_console, operator_session, platform
from cmcc.core.errors import DomainError
from cmcc.tak import connection


def package(
    device: Annotated[
        str, typer.Argument(help="The device's uid (registered: cmcc cot device add)")
    ],
    out: Annotated[Path, typer.Option("--out", help="The zip file to write")],
    with_certificate: Annotated[
        bool,
        typer.Option(
            "--with-certificate",
            help="Issue a certificate for the device and put it in the package, with its key, "
            "under a one-time password printed once",
        ),
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(
            help="The name or address devices reach the gateway at (default: the "
            "first of CMCC_TAK_HOSTNAMES)"
        ),
    ] = None,
) -> None:
    """Write the zip a TAK device imports to connect over TLS. Without --with-certificate the
    device enrolls with a user's name and password (the package holds no secret)."""
    if out.exists():
        err_console.print(f"[red]error:[/red] {out} exists; give another file or remove it")
        raise typer.Exit(1)
    with platform() as p, operator_session(p, write=with_certificate, actor="system:cli") as s:
        try:
            server = connection.server_of(p.settings, host)
            connection.device_of(s, Principal.system_operator(), device)
            if with_certificate:
                made = connection.certificate_package(
                    s, Principal.system_operator(), device, server
                )
            else:
                made = connection.enrollment_package(s, server)
        except DomainError as exc:
            err_console.print(f"[red]error:[/red] {exc.detail}")
            raise typer.Exit(1) from None
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(made.zip)
    console.print(f"wrote {out}: connects to {server.connect_string}")
    if made.password is not None:
        console.print(f"certificate {made.serial} for {device}")
        console.print(
            f"one-time password of the certificate: [bold]{made.password}[/bold]\n"
            "It is shown only now and kept nowhere. Give it to the device's user apart from "
            "the file; the TAK app asks for it (the server's client certificate password).",
            highlight=False,
        )
    else:
        console.print("the device enrolls with a user's name and password (port 8446)")


def register(tak_app: typer.Typer) -> None:
    """Add `package` to the `cmcc tak` commands."""
    tak_app.command("package")(package)
