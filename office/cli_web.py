"""`leakwatch serve` (the web app) and `leakwatch user add|list|disable` (staff accounts)."""

from __future__ import annotations

import getpass
import os
import socket
from typing import Annotated

import typer
from rich.table import Table

from office.console import cli_actor, console, fail, open_store

user_app = typer.Typer(help="Staff accounts of the web app.", no_args_is_help=True)


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (method, path, status; no form data).")
    ] = False,
) -> None:
    """Run the web app (customers' pages, reports, staff pages, the JSON API under /api/v1)."""
    if not port_free(host, port):
        raise fail(f"port {port} on {host} is taken: give another with --port")
    run_server(host, port, access_log=access_log)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str, wanted: int) -> int:
    """``wanted`` if it is free, else one the system picks."""
    if port_free(host, wanted):
        return wanted
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def run_server(host: str, port: int, *, access_log: bool = False) -> None:
    """The web app on host:port until Ctrl-C (checked first: the store, production rules)."""
    import uvicorn

    from office.web.app import UnsafeProduction, create_app, refuse_unsafe_production

    with open_store() as store:  # a missing schema or key: one line now, not per request
        try:
            refuse_unsafe_production(store)
        except UnsafeProduction as exc:
            raise fail(str(exc)) from None
    console.print(f"LeakWatch web app on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(create_app(), host=host, port=port, log_level="info" if access_log else "warning",
                access_log=access_log, server_header=False)  # fmt: skip


def _password() -> str:
    """From LEAKWATCH_PASSWORD, or asked twice (never an option: it would sit in the shell
    history and the process list)."""
    if env := os.environ.get("LEAKWATCH_PASSWORD"):
        return env
    first = getpass.getpass("password (12 characters or more): ")
    if getpass.getpass("again: ") != first:
        raise fail("the two passwords differ")
    return first


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (printable ASCII, 1-64).")],
    role: Annotated[str, typer.Option(help="admin, investigator, legal, operator or auditor.")],
    display_name: Annotated[str, typer.Option(help="Name shown on screens.")] = "",
) -> None:
    """Add a staff account; the password comes from LEAKWATCH_PASSWORD or a prompt."""
    from casework.accounts import AccountError, add_user
    from store.models import Role

    try:
        chosen = Role(role)
    except ValueError:
        raise fail(f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}") from None
    password = _password()
    with open_store() as store:
        try:
            uid = add_user(store, name, password, chosen, actor=cli_actor(),
                           display_name=display_name)  # fmt: skip
        except AccountError as exc:
            raise fail(str(exc)) from None
    console.print(f"user {uid} added: {name} ({chosen.value})")


@user_app.command("list")
def user_list() -> None:
    """Staff accounts with their roles."""
    from casework.accounts import list_users

    with open_store() as store:
        users = list_users(store)
    table = Table("id", "name", "display name", "role", "active")
    for u in users:
        table.add_row(str(u.id), u.username, u.display_name, u.role.value,
                      "yes" if u.active else "no")  # fmt: skip
    console.print(table)


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable an account: its sessions and API tokens end at once."""
    from casework.accounts import NoSuchUser, disable_user

    with open_store() as store:
        try:
            disable_user(store, name, actor=cli_actor())
        except NoSuchUser as exc:
            raise fail(str(exc)) from None
    console.print(f"user {name} disabled")


def register(app: typer.Typer) -> None:
    """Add `serve` and `user` to the `leakwatch` app."""
    app.command("serve")(serve_cmd)
    app.add_typer(user_app, name="user")
