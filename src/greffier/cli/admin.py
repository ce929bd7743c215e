"""`greffier admin`: users, API keys, groups, quotas, audit log, erasure, usage."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from greffier.cli.context import state
from greffier.services.container import Services
from greffier.services.principal import OPERATOR

app = typer.Typer(help="Administration: users, keys, groups, audit, erasure.", no_args_is_help=True)
console = Console()


def _services(ctx: typer.Context) -> Services:
    return Services.build(state(ctx).load().settings, run_jobs=False)


@app.command("create-key")
def create_key(
    ctx: typer.Context,
    user: str = typer.Option("admin", help="User the key belongs to (created if new)."),
    role: str = typer.Option(
        None,
        help="admin or member. A new user is a member unless this says admin; for an "
        "existing user it must match their role (it never changes it).",
    ),
    label: str = typer.Option("", help="A note to recognise the key by."),
) -> None:
    """Create an API key. It is printed once and stored only as a hash."""
    identity = _services(ctx).identity
    issued = identity.issue_key(OPERATOR, user, role, label)
    record = identity.user_named(user)
    console.print(f"API key for {user} ({record.role}; shown once, keep it safe):")
    print(issued.key)


@app.command()
def bootstrap(ctx: typer.Context) -> None:
    """Create the first admin key if there is none; otherwise say how to get another."""
    identity = _services(ctx).identity
    if identity.has_admin_key():
        console.print(
            "An admin API key already exists (keys are stored hashed and cannot be "
            "shown again). Create another with `greffier admin create-key`."
        )
        return
    issued = identity.issue_key(OPERATOR, "admin", "admin", "created by bootstrap")
    console.print("[bold]Admin API key[/] (shown once, keep it safe):")
    print(issued.key)


@app.command("create-user")
def create_user(
    ctx: typer.Context,
    name: str,
    role: str = typer.Option("member", help="admin or member."),
    password: bool = typer.Option(False, help="Ask for a password (web sign-in)."),
) -> None:
    """Create a user (then give them a key with create-key --user NAME)."""
    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    record = _services(ctx).identity.create_user(OPERATOR, name, role, secret)
    console.print(f"User {record.name} created (id {record.id}, {record.role}).")


@app.command("set-password")
def set_password(ctx: typer.Context, name: str) -> None:
    """Set a user's web sign-in password."""
    identity = _services(ctx).identity
    record = identity.user_named(name)
    identity.change_user(
        OPERATOR,
        record.id,
        password=typer.prompt("Password", hide_input=True, confirmation_prompt=True),
    )
    console.print(f"Password of {name} set.")


@app.command("disable-user")
def disable_user(
    ctx: typer.Context, name: str, enable: bool = typer.Option(False, help="Enable instead.")
) -> None:
    """Disable a user: every key and web session of theirs stops working at once."""
    identity = _services(ctx).identity
    identity.change_user(OPERATOR, identity.user_named(name).id, disabled=not enable)
    console.print(f"User {name} {'enabled' if enable else 'disabled'}.")


@app.command("list-users")
def list_users(ctx: typer.Context) -> None:
    table = Table(title="Users")
    for column in ("id", "name", "role", "created", "state", "password"):
        table.add_column(column)
    for u in _services(ctx).identity.users(OPERATOR):
        table.add_row(
            str(u.id),
            u.name,
            u.role,
            u.created_at,
            "disabled" if u.disabled_at else "active",
            "yes" if u.has_password else "no",
        )
    console.print(table)


@app.command("create-group")
def create_group(ctx: typer.Context, name: str, description: str = "") -> None:
    group = _services(ctx).access.create_group(OPERATOR, name, description)
    console.print(f"Group {group.name} created (id {group.id}).")


@app.command("add-member")
def add_member(
    ctx: typer.Context,
    group: str,
    user: str = typer.Option(None, help="A user to add."),
    subgroup: str = typer.Option(None, help="A group to nest in it."),
) -> None:
    """Add a user, or a nested group, to a group."""
    access = _services(ctx).access
    found = access.group_named(OPERATOR, group)
    result = access.add_member(OPERATOR, found.id, user=user, group=subgroup)
    console.print(f"{group}: users {list(result.users)}, groups {list(result.groups)}.")


@app.command("rotate-key")
def rotate_key(ctx: typer.Context, key_id: int) -> None:
    """Revoke a key and print its replacement (same user and label), once."""
    issued = _services(ctx).identity.rotate_key(OPERATOR, key_id)
    console.print(f"Key {key_id} revoked; new key {issued.record_id} (shown once):")
    print(issued.key)


@app.command("erase-user")
def erase_user(
    ctx: typer.Context,
    name: str,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Right to erasure: delete a user and everything derived from what they own, then
    prove that nothing remains (exit status 1 if something does)."""
    services = _services(ctx)
    record = services.identity.user_named(name)
    if not yes:
        typer.confirm(f"Erase {name} and all their documents and meetings?", abort=True)
    report = services.erasure.erase(OPERATOR, record.id)
    table = Table(title=f"What remains of {name} (user {record.id})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name_, rows in report.remaining.items():
        table.add_row(name_, str(rows))
    table.add_row("files on disk", str(len(report.files_left)))
    console.print(table)
    console.print(
        f"Removed {report.collections} collection(s) and {report.meetings} meeting(s). "
        + ("[green]Nothing remains.[/]" if report.complete else "[red]Something remains.[/]")
    )
    raise typer.Exit(0 if report.complete else 1)


@app.command()
def audit(
    ctx: typer.Context,
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
    format: str = typer.Option("jsonl", help="jsonl or csv."),
    user: str = typer.Option(None, help="Only this user's entries."),
    action: str = typer.Option(None, help="Only this action (chat, search, meeting…)."),
    since: str = typer.Option(None, help="From this date or time (ISO 8601, UTC)."),
) -> None:
    """Export the audit log."""
    if format not in ("jsonl", "csv"):
        raise typer.BadParameter("format is jsonl or csv.")
    lines = _services(ctx).audit.export(OPERATOR, format, user=user, action=action, since=since)
    if output is None:
        for line in lines:
            print(line, end="")
        return
    with output.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
    console.print(f"Audit log written to {output}.")


@app.command("list-keys")
def list_keys(ctx: typer.Context) -> None:
    """List keys (prefixes only; keys themselves are never stored)."""
    table = Table(title="API keys")
    for column in ("id", "user", "role", "prefix", "label", "created", "last used", "state"):
        table.add_column(column)
    for k in _services(ctx).identity.list_keys(OPERATOR):
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
    _services(ctx).identity.revoke_key(OPERATOR, key_id)
    console.print(f"Key {key_id} revoked.")


@app.command()
def usage(ctx: typer.Context, days: int = typer.Option(30, min=1, help="Days back.")) -> None:
    """Requests, tokens and estimated energy per day and model."""
    table = Table(title=f"Usage, last {days} days (energy is an estimate: docs/energy.md)")
    for column in ("day", "model", "requests", "prompt tokens", "completion tokens", "energy"):
        table.add_column(column)
    for r in _services(ctx).usage.totals(OPERATOR, days):
        table.add_row(
            r.day,
            r.model,
            str(r.requests),
            str(r.prompt_tokens),
            str(r.completion_tokens),
            f"{r.energy_joules / 3600:.3f} Wh",
        )
    console.print(table)
