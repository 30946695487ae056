"""`cmcc tak ...`: the installation's TAK certificate authority and the devices' certificates.

Other modules add their commands to `app` with a `register(app)` function of their own (as
`cmcc tak package` does)."""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from cmcc.access.service import org_by_code
from cmcc.cli.common import console, err_console, operator_session, platform
from cmcc.core.releasability import Viewer
from cmcc.tak import pki

app = typer.Typer(
    help="TAK in the field: the certificate authority and the devices' certificates.",
    no_args_is_help=True,
)
ca_app = typer.Typer(help="The installation's certificate authority.", no_args_is_help=True)
cert_app = typer.Typer(help="Client certificates of TAK devices.", no_args_is_help=True)
app.add_typer(ca_app, name="ca")
app.add_typer(cert_app, name="cert")
ACTOR = "system:cli"
Days = Annotated[int | None, typer.Option("--days", min=1, help="Lifetime in days")]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Encrypt the key with the first line of this file (at least 8 characters), "
        "instead of a passphrase generated and printed once",
    ),
]
Out = Annotated[Path, typer.Option("--out", help="Folder to write DEVICE.pem and DEVICE.key into")]


@ca_app.command("init")
def ca_init(
    common_name: Annotated[
        str, typer.Option("--common-name", help="The CA's name, as devices show it")
    ] = "CMCC TAK CA",
    days: Days = None,
) -> None:
    """Create the installation's certificate authority (once). Its key is stored encrypted in
    the database, under CMCC_TAK_CA_PASSPHRASE or a passphrase generated into a file."""
    with platform() as p, operator_session(p, write=True, actor=ACTOR) as session:
        row = pki.init_authority(
            session, common_name=common_name, lifetime_days=days or p.settings.tak_ca_days
        )
        where = _passphrase_place(row.key_protection, pki.passphrase_path(p.settings))
    console.print(f"TAK CA {row.common_name!r} created, valid until {row.not_after:%Y-%m-%d}")
    console.print(
        f"SHA-256 fingerprint: {_colons(row.fingerprint)}", highlight=False, soft_wrap=True
    )
    console.print(f"Its key is encrypted with {where}: back it up apart from the database.")


@ca_app.command("show")
def ca_show(
    pem: Annotated[bool, typer.Option("--pem", help="Print the CA certificate (PEM)")] = False,
) -> None:
    """The CA: name, validity, fingerprint, where its passphrase is kept."""
    with platform() as p, operator_session(p, write=False, actor=ACTOR) as session:
        row = pki.authority(session)
        where = _passphrase_place(row.key_protection, pki.passphrase_path(p.settings))
    if pem:
        sys.stdout.write(row.cert_pem)
        return
    console.print(f"name: {row.common_name}", highlight=False, soft_wrap=True)
    console.print(f"serial: {row.serial}", highlight=False, soft_wrap=True)
    console.print(f"valid: {row.not_before:%Y-%m-%d} to {row.not_after:%Y-%m-%d}")
    console.print(
        f"SHA-256 fingerprint: {_colons(row.fingerprint)}", highlight=False, soft_wrap=True
    )
    console.print(
        f"key: encrypted in the database, passphrase in {where}", highlight=False, soft_wrap=True
    )


def _passphrase_place(protection: str, path: Path) -> str:
    return "CMCC_TAK_CA_PASSPHRASE" if protection == "setting" else str(path)


@cert_app.command("issue")
def cert_issue(
    device: Annotated[str, typer.Argument(help="The registered device's uid")],
    out: Out,
    days: Days = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Issue a client certificate for a registered device; writes DEVICE.pem (the
    certificate) and DEVICE.key (its private key, encrypted) into the folder."""
    _write_issued(device, out, days, passphrase_file, renew=False)


@cert_app.command("renew")
def cert_renew(
    device: Annotated[str, typer.Argument(help="The registered device's uid")],
    out: Out,
    days: Days = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """A new certificate for the device (written as by `issue`); once it is issued, the
    device's earlier certificates are revoked as superseded."""
    _write_issued(device, out, days, passphrase_file, renew=True)


def _write_issued(
    device: str, out: Path, days: int | None, passphrase_file: Path | None, *, renew: bool
) -> None:
    phrase, generated = _key_passphrase(passphrase_file)
    base = re.sub(r"[^A-Za-z0-9._-]", "_", device.strip()) or "device"
    cert_path, key_path = out / f"{base}.pem", out / f"{base}.key"
    for path in (cert_path, key_path):
        if path.exists():
            err_console.print(f"[red]error:[/red] {path} exists: nothing issued")
            raise typer.Exit(1)
    written: list[Path] = []
    try:
        with platform() as p, operator_session(p, write=True, actor=ACTOR) as session:
            issue = pki.renew if renew else pki.issue_for_device
            issued = issue(session, device, lifetime_days=days)
            out.mkdir(parents=True, exist_ok=True)
            _write_private(key_path, pki.encrypted_key_pem(issued.key, phrase))
            written.append(key_path)
            cert_path.write_bytes(issued.cert_pem)
            written.append(cert_path)
            row = issued.certificate
    except BaseException:
        for path in written:  # not committed: no certificate, no files
            path.unlink(missing_ok=True)
        raise
    console.print(
        f"certificate {row.serial} for {row.device_uid}, valid until {row.not_after:%Y-%m-%d}",
        soft_wrap=True,
    )
    console.print(
        f"wrote {cert_path} and {key_path} (the key encrypted)", highlight=False, soft_wrap=True
    )
    if row.replaces_id is not None:
        console.print("the device's earlier certificates are revoked (superseded)")
    if generated:
        console.print(
            f"key passphrase (shown once, give it to the device's user): {phrase.decode()}",
            highlight=False,
            soft_wrap=True,  # never broken across lines: it is copied
        )


def _key_passphrase(path: Path | None) -> tuple[bytes, bool]:
    if path is None:
        return secrets.token_urlsafe(18).encode(), True
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None
    phrase = lines[0].strip() if lines else b""
    if len(phrase) < 8:
        err_console.print(f"[red]error:[/red] {path}: the passphrase needs at least 8 characters")
        raise typer.Exit(2)
    return phrase, False


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _all() -> Viewer:
    return Viewer(None, None, False, sees_all=True)


@cert_app.command("list")
def cert_list(
    device: Annotated[str | None, typer.Option("--device", help="Only this device's")] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", help="Only what this organization sees (its own certificates)"),
    ] = None,
) -> None:
    """Certificates issued, newest first: serial, device, organization, valid until, revoked."""
    with platform() as p, operator_session(p, write=False, actor=ACTOR) as session:
        viewer = _all()
        if org is not None:
            found = org_by_code(session, org)
            viewer = Viewer(found.id, found.code, found.is_member)
        rows = pki.list_certificates(session, viewer, device_uid=device)
    serial = Column("serial", no_wrap=True, min_width=32)  # copied whole, never wrapped
    table = Table(serial, "device", "organization", "valid until", "revoked")
    for row, code in rows:
        revoked = (
            f"{row.revoked_at:%Y-%m-%d %H:%M} ({row.revocation_reason})" if row.revoked_at else ""
        )
        who = row.device_uid or f"server: {row.hostnames}"
        table.add_row(row.serial, who, code, f"{row.not_after:%Y-%m-%d %H:%M}", revoked)
    console.print(table)
    console.print(f"{len(rows)} certificate(s)")


@cert_app.command("revoke")
def cert_revoke(
    serial: Annotated[str | None, typer.Argument(help="Serial number (hex)")] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="Revoke every valid certificate of a device")
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help=f"One of: {', '.join(pki.REASONS)}")
    ] = "unspecified",
) -> None:
    """Revoke a certificate (or a device's): the gateway refuses it at the handshake within
    seconds, and the revocation list names it."""
    if (serial is None) == (device is None):
        err_console.print("[red]error:[/red] give a SERIAL or --device UID (one of them)")
        raise typer.Exit(2)
    with platform() as p, operator_session(p, write=True, actor=ACTOR) as session:
        if serial is not None:
            rows = [pki.revoke(session, serial, reason)]
        else:
            assert device is not None
            rows = pki.revoke_device(session, device, reason)
    if not rows:
        err_console.print(f"[red]error:[/red] device {device} has no certificate to revoke")
        raise typer.Exit(1)
    for row in rows:
        console.print(f"certificate {row.serial} of {row.device_uid or 'the server'} revoked")


@app.command("crl")
def crl(
    out: Annotated[
        Path, typer.Option("--out", help="File to write the revocation list (PEM) to; - stdout")
    ],
) -> None:
    """Write the CA's signed revocation list of every revoked certificate (PEM)."""
    with platform() as p, operator_session(p, write=False, actor=ACTOR) as session:
        pem = pki.crl_pem(session)
    if str(out) == "-":
        sys.stdout.write(pem.decode())
        return
    out.write_bytes(pem)
    console.print(f"wrote {out}", highlight=False, soft_wrap=True)


def _colons(hex_text: str) -> str:
    return ":".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2)).upper()
