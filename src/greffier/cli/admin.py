"""`greffier admin`: API keys."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from greffier.cli.context import state
from greffier.services.identity import IdentityService
from greffier.store.database import Database
from greffier.store.identity import IdentityStore

app = typer.Typer(help="Administration: API keys.", no_args_is_help=True)
console = Console()


def _identity(ctx: typer.Context) -> IdentityService:
    settings = state(ctx).load().settings
    return IdentityService(IdentityStore(Database(settings.database_path)))


@app.command("create-key")
def create_key(
    ctx: typer.Context,
    user: str = typer.Option("admin", help="User the key belongs to (created if new)."),
    role: str = typer.Option("admin", help="admin or member (for a new user)."),
    label: str = typer.Option("", help="A note to recognise the key by."),
) -> None:
    """Create an API key. It is printed once and stored only as a hash."""
    issued = _identity(ctx).issue_key(user, role, label)
    console.print(f"API key for {user} (shown once, keep it safe):")
    print(issued.key)


@app.command()
def bootstrap(ctx: typer.Context) -> None:
    """Create the first admin key if there is none; otherwise say how to get another."""
    identity = _identity(ctx)
    if identity.has_admin_key():
        console.print(
            "An admin API key already exists (keys are stored hashed and cannot be "
            "shown again). Create another with `greffier admin create-key`."
        )
        return
    issued = identity.issue_key("admin", "admin", "created by bootstrap")
    console.print("[bold]Admin API key[/] (shown once, keep it safe):")
    print(issued.key)


@app.command("list-keys")
def list_keys(ctx: typer.Context) -> None:
    """List keys (prefixes only; keys themselves are never stored)."""
    table = Table(title="API keys")
    for column in ("id", "user", "role", "prefix", "label", "created", "last used", "state"):
        table.add_column(column)
    for k in _identity(ctx).list_keys():
        state_ = "active" if k.active else ("revoked" if k.revoked_at else "user disabled")
        table.add_row(
            str(k.id),
            k.user,
            k.role,
            k.prefix + "…",
            k.label,
            k.created_at,
            k.last_used_at or "",
            state_,
        )
    console.print(table)


@app.command("revoke-key")
def revoke_key(ctx: typer.Context, key_id: int) -> None:
    """Revoke a key by id: it stops working at once."""
    _identity(ctx).revoke_key(key_id)
    console.print(f"Key {key_id} revoked.")


@app.command()
def usage(ctx: typer.Context, days: int = typer.Option(30, min=1, help="Days back.")) -> None:
    """Requests, tokens and estimated energy per day and model."""
    from greffier.services.usage import ParityTable, UsageService
    from greffier.store.usage import UsageStore

    settings = state(ctx).load().settings
    service = UsageService(UsageStore(Database(settings.database_path)), ParityTable(Path()))
    table = Table(title=f"Usage, last {days} days (energy is an estimate: docs/energy.md)")
    for column in ("day", "model", "requests", "prompt tokens", "completion tokens", "energy"):
        table.add_column(column)
    for r in service.totals(days):
        table.add_row(
            r["day"],
            r["model"],
            str(r["requests"]),
            str(r["prompt_tokens"]),
            str(r["completion_tokens"]),
            f"{r['energy_joules'] / 3600:.3f} Wh",
        )
    console.print(table)
