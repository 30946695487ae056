"""`cmcc cot send` and `cmcc cot tail`: test a TAK link from the operator's seat."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cmcc.cli.common import console, err_console, operator_session, platform
from cmcc.cot import codec, devices
from cmcc.cot.event import CotError
from cmcc.cot.framing import FrameError, XmlStreamSplitter

app = typer.Typer(help="Test a Cursor-on-Target link (the TAK gateway).", no_args_is_help=True)
Host = Annotated[str, typer.Option(help="Gateway address")]
Port = Annotated[int, typer.Option(help="Gateway TCP port")]


def _connect(host: str, port: int) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=10)
    except OSError as exc:
        err_console.print(f"[red]cannot connect to {host}:{port}:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command("send")
def send(
    source: Annotated[str, typer.Argument(help="File of CoT XML events, or - for stdin")],
    host: Host = "127.0.0.1",
    port: Port = 8087,
) -> None:
    """Check every event of FILE (XML, back to back), then send them over TCP. Nothing is sent
    if one is not a valid event: the error says which and why."""
    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    splitter = XmlStreamSplitter(max_event_bytes=max(len(data), 1024))
    try:
        frames = splitter.feed(data)
        if splitter.pending().strip():
            raise FrameError("the input ends inside an event")
        for n, frame in enumerate(frames, 1):
            try:
                codec.parse_xml(frame)
            except CotError as exc:
                raise CotError(f"event {n}: {exc}") from None
    except (CotError, FrameError) as exc:
        err_console.print(f"[red]not sent:[/red] {exc}")
        raise typer.Exit(2) from None
    with _connect(host, port) as sock:
        for frame in frames:
            sock.sendall(frame)
    console.print(f"sent {len(frames)} event(s) to {host}:{port}")


@app.command("tail")
def tail(
    host: Host = "127.0.0.1",
    port: Port = 8087,
    count: Annotated[int, typer.Option(help="Stop after this many events (0: never)")] = 0,
    raw: Annotated[bool, typer.Option("--raw", help="Print the XML of each event")] = False,
) -> None:
    """Print the events the gateway sends to a client: time, type, uid, callsign, place."""
    seen = 0
    splitter = XmlStreamSplitter()
    with _connect(host, port) as sock:
        sock.settimeout(None)
        while count == 0 or seen < count:
            data = sock.recv(65536)
            if not data:
                err_console.print("the gateway closed the connection")
                raise typer.Exit(1)
            for frame in splitter.feed(data):
                try:
                    ev = codec.parse_xml(frame)
                except CotError as exc:
                    err_console.print(f"[yellow]unreadable event:[/yellow] {exc}")
                    continue
                if ev.type.startswith("t-x-takp"):
                    continue
                seen += 1
                if raw:
                    console.print(frame.decode("utf-8", "replace"), markup=False, highlight=False)
                else:
                    console.print(
                        f"{ev.time:%H:%M:%S} {ev.type} {ev.uid} {ev.callsign or '-'} "
                        f"{ev.lat:.5f},{ev.lon:.5f}",
                        markup=False,
                        highlight=False,
                    )
                if count and seen >= count:
                    break


device_app = typer.Typer(
    help="TAK devices and the organizations they belong to.", no_args_is_help=True
)
app.add_typer(device_app, name="device")


@device_app.command("add")
def device_add(
    uid: Annotated[str, typer.Argument(help="The device's CoT uid (ATAK: Settings > Device UID)")],
    org: Annotated[str, typer.Option("--org", help="Organization code (ISO alpha-3 for nations)")],
    callsign: Annotated[str | None, typer.Option(help="Its callsign")] = None,
    pledge: Annotated[
        str | None, typer.Option(help="Pledge ref of the contingent (its caveats are checked)")
    ] = None,
    releasability: Annotated[
        str, typer.Option(help="Marking of its tracks: mission, owner, rel:<codes>, public")
    ] = "mission",
    unit: Annotated[
        int | None,
        typer.Option(
            "--unit",
            min=1,
            help="Lineage of its ORBAT unit: its positions show with the unit's symbol, the "
            "unit's tasks reach it, and the unit's tasked area is checked against them",
        ),
    ] = None,
) -> None:
    """Register a device (or change its registration): its positions become tracks of that
    organization, and under CMCC_COT_RELAY=mission it may exchange traffic with the mission."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        devices.register(
            session,
            uid,
            org,
            callsign=callsign,
            pledge_ref=pledge,
            releasability=releasability,
            unit_lineage=unit,
        )
    console.print(f"device {uid} registered to {org}" + (f", unit {unit}" if unit else ""))


@device_app.command("remove")
def device_remove(uid: Annotated[str, typer.Argument(help="The device's CoT uid")]) -> None:
    """Forget a device: its later traffic is no longer relayed; its stored tracks stay."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        removed = devices.unregister(session, uid)
    if not removed:
        err_console.print(f"[red]no device {uid}[/red]")
        raise typer.Exit(1)
    console.print(f"device {uid} removed")


@device_app.command("list")
def device_list() -> None:
    """Every registered device."""
    table = Table("uid", "callsign", "organization", "pledge", "unit", "marking")
    with platform() as p, operator_session(p, write=False, actor="system:cli") as session:
        for device, org_code, pledge_ref in devices.list_devices(session):
            table.add_row(
                device.uid,
                device.callsign or "",
                org_code,
                pledge_ref or "",
                str(device.unit_lineage or ""),
                device.releasability,
            )
    console.print(table)
