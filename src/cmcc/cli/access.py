"""`cmcc user add`, `cmcc token create`."""

from __future__ import annotations

from typing import Annotated

import typer

from cmcc.access.domain import Role
from cmcc.access.service import add_user, create_token, revoke_tokens, user_by_name
from cmcc.cli.common import console, operator_session, platform

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Issue API tokens.", no_args_is_help=True)


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


@token_app.command("revoke")
def token_revoke(
    user: str,
    label: Annotated[str | None, typer.Option(help="Only tokens with this label")] = None,
) -> None:
    """Revoke USER's live tokens (all of them, or those with --label)."""
    with platform() as p, operator_session(p, write=True, actor="system:cli") as session:
        count = revoke_tokens(session, user_by_name(session, user), label)
    console.print(f"{count} token(s) of {user} revoked")
