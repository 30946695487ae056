"""`cmcc user add|deactivate|reactivate|reset-password|reset-totp|lockouts|unlock`, `cmcc
token create|list|revoke`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from cmcc.access import accounts, throttle
from cmcc.access.domain import Principal, Role
from cmcc.access.service import add_user, create_token, revoke_tokens, user_by_name
from cmcc.cli.common import console, err_console, operator_session, platform

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Issue, list and revoke API tokens.", no_args_is_help=True)
OPERATOR = Principal.system_operator()
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log)")]


@user_app.command("add")
def user_add(
    name: str,
    org: Annotated[str, typer.Option("--org", help="Organization code (ISO alpha-3 for nations)")],
    role: Annotated[Role, typer.Option("--role", help="Role")],
    password: Annotated[
        bool, typer.Option("--password", help="Prompt for a password (for login)")
    ] = False,
) -> None:
    """Add a user of an organization with a role."""
    secret = (
        typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    )
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        user = add_user(session, name, org, role, secret)
        console.print(f"user {user.username} added ({role.value} of {org.upper()})")


@user_app.command("deactivate")
def user_deactivate(name: str, reason: Reason) -> None:
    """Shut NAME's account off: no sign-in, and every token and web session ends now."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        count = accounts.deactivate(session, OPERATOR, name, reason)
    console.print(f"user {name} deactivated; {count} token(s) and session(s) ended")


@user_app.command("reactivate")
def user_reactivate(name: str, reason: Reason) -> None:
    """Let NAME sign in again (the old tokens stay revoked)."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        accounts.reactivate(session, OPERATOR, name, reason)
    console.print(f"user {name} reactivated")


@user_app.command("reset-password")
def user_reset_password(name: str, reason: Reason) -> None:
    """Give NAME a one-time password (printed once) to change at the next sign-in; every
    token and session of NAME ends."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        password = accounts.reset_password(session, OPERATOR, name, reason)
    console.print(f"one-time password of {name} (shown only now; changed at the next sign-in):")
    print(password)


@user_app.command("reset-totp")
def user_reset_totp(name: str, reason: Reason) -> None:
    """Remove NAME's second factor (a lost phone); NAME's sign-in sessions end."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        accounts.reset_totp(session, OPERATOR, name, reason)
    console.print(f"second factor of {name} removed")


@user_app.command("lockouts")
def user_lockouts() -> None:
    """Account names and client addresses whose failed sign-ins still count (web, API, TAK
    enrollment), locked ones first: id, kind, user (when the name is a user's), the start of
    the keyed hash (never the name typed nor the address), failures in a row, the last one,
    and until when attempts wait (times in UTC)."""
    with platform() as p, operator_session(p, write=False, actor="system:cli") as session:
        memory = dt.timedelta(minutes=p.settings.signin_lockout_minutes)
        rows = throttle.listing(session, OPERATOR, memory)
    if not rows:
        console.print("no account name or address has failed sign-ins that count now")
        return
    table = Table("id", "kind", "user", "key", "failures", "last failure", "waits until", "state")
    for r in rows:
        state = "locked" if r.locked else "delayed" if r.blocked_until else "counting"
        table.add_row(
            str(r.id),
            r.kind,
            r.username or "-",
            r.key,
            str(r.failures),
            _when(r.last_failure_at),
            _when(r.blocked_until),
            state,
        )
    console.print(table)


@user_app.command("unlock")
def user_unlock(
    name: Annotated[str | None, typer.Argument(help="The account name to unlock")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="A client address to unlock instead")
    ] = None,
    row: Annotated[int | None, typer.Option("--id", help="A row of `cmcc user lockouts`")] = None,
) -> None:
    """End the delay or lockout of an account name (any name, a user's or not), of a client
    address (--address), or of one row of `cmcc user lockouts` (--id)."""
    if sum(x is not None for x in (name, address, row)) != 1:
        err_console.print("[red]give one of NAME, --address or --id[/red]")
        raise typer.Exit(2)
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        secret = p.settings.secret_key.get_secret_value()
        if row is not None:
            throttle.clear(session, OPERATOR, row)
            done = True
        elif name is not None:
            done = throttle.clear_key(session, throttle.account_key(secret, name))
        else:
            done = throttle.clear_key(session, throttle.address_key(secret, address or ""))
    what = f"row {row}" if row is not None else name if name is not None else address
    console.print(f"{what} unlocked" if done else f"{what} was not throttled", soft_wrap=True)


@token_app.command("create")
def token_create(
    user: str,
    label: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days")] = None,
) -> None:
    """Issue a token for USER and print only the token (it is stored as a hash)."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        secret = p.settings.secret_key.get_secret_value()
        token = create_token(
            session, user_by_name(session, user), secret, label=label, ttl_days=days
        )
    print(token)


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else "-"


@token_app.command("list")
def token_list(user: str) -> None:
    """USER's tokens and sessions, newest first: id, label, kind, created, last use (to
    within five minutes), expiry, and whether revoked (times in UTC)."""
    with platform() as p, operator_session(p, write=False, actor="system:cli") as session:
        rows = accounts.tokens_of(session, user_by_name(session, user))
    table = Table("id", "label", "kind", "created", "last used", "expires", "state")
    for r in rows:
        state = "revoked" if r.revoked else "live"
        table.add_row(
            str(r.id),
            r.label,
            r.kind,
            _when(r.created_at),
            _when(r.last_used_at),
            _when(r.expires_at),
            state,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    user: str,
    label: Annotated[str | None, typer.Option(help="Only tokens with this label")] = None,
) -> None:
    """Revoke USER's live tokens (all of them, or those with --label)."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        count = revoke_tokens(session, user_by_name(session, user), label)
    console.print(f"{count} token(s) of {user} revoked")
