"""The docctl command: init, serve, create-department, create-user, tick, reindex (and more)."""

import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from docctl import cli_import, cli_ops, cli_people

DEMO_PASSWORD = "docctl-demo"


def _create_app():
    from docctl import create_app
    from docctl.services.secretkey import StartupRefused
    try:
        return create_app()
    except StartupRefused as exc:
        raise click.ClickException(exc.message) from None   # a message, not a traceback


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False)
def main():
    """Document control for ISO 9001 (docctl)."""


def register_cli(app) -> None:
    """Attach docctl's commands to the app's CLI."""
    for command in (init, serve, create_department, create_user, unlock_user, tick, reindex,
                    *cli_import.COMMANDS, *cli_people.COMMANDS, *cli_ops.COMMANDS):
        app.cli.add_command(command)   # `flask --app docctl …` too


# backup, restore and verify build the app themselves: restore needs an empty data folder
# first, and verify must report an app that cannot start instead of dying in a traceback.
for _command in cli_ops.COMMANDS:
    main.add_command(_command)


@click.command()
@click.option("--demo", is_flag=True, help="Load the demo organisation.")
@click.option("--org", "org_name", default=None,
              help="The organisation's name, shown on every page and stamp.")
@click.option("--admin", "admin_username", default=None,
              help="Create the first administrator with this username.")
@click.option("--admin-name", default=None, help="The administrator's full name.")
@click.option("--password-stdin", is_flag=True,
              help="Read the administrator's password from one line of standard input.")
@with_appcontext
def init(demo: bool, org_name: str | None, admin_username: str | None,
         admin_name: str | None, password_stdin: bool):
    """Create or upgrade the database and git store (idempotent); name the organisation."""
    if password_stdin and not admin_username:
        raise click.UsageError("--password-stdin needs --admin")
    from flask_migrate import upgrade

    from docctl.services import demo as demo_data
    from docctl.services import publishing

    upgrade(directory=current_app.extensions["migrate"].directory)
    from docctl.services import indexing

    publishing.recover()
    click.echo(f"database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo(f"git store: {current_app.config['REPO_STORE']}")
    if demo:
        created = demo_data.load(DEMO_PASSWORD, progress=click.echo)
        if created:
            click.echo("demo organisation loaded.")
        else:
            click.echo("demo organisation already present; nothing changed.")
        click.echo(f"demo users (password '{DEMO_PASSWORD}', demo only): "
                   "admin, secretary, reviewer, approver, staff, auditor")
    if org_name is not None:
        _name_organisation(org_name)
    if admin_username:
        _first_admin(admin_username, admin_name, password_stdin)
    indexing.catch_up()


def _name_organisation(org_name: str) -> None:
    from docctl.errors import DocctlError
    from docctl.services import organisation

    try:
        organisation.update(None, {"name": org_name})
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"organisation: {organisation.name()}")


def _first_admin(username: str, display_name: str | None, from_stdin: bool) -> None:
    from docctl.errors import DocctlError
    from docctl.services import users

    if users.find_user(username):   # before asking for a password that would be thrown away
        raise click.ClickException(f"user {username!r} already exists; nothing changed "
                                   "(reset a password with the web page or the API)")
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        # Asked twice, never echoed; it is never printed, logged or audited.
        password = click.prompt("administrator password", hide_input=True,
                                confirmation_prompt=True)
    try:
        user = users.create_user(None, username=username, role=["admin"],
                                 display_name=display_name or username, password=password)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"created administrator {user.username}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: DOCCTL_PORT or 5000.")
@click.option("--workers", type=int, default=2, show_default=True)
@with_appcontext
def serve(host: str, port: int | None, workers: int):
    """Serve the app with gunicorn; its workers run the housekeeping scheduler."""
    from docctl.services import indexing, publishing

    publishing.recover()
    indexing.catch_up()   # an index that is behind catches up before the first request
    port = port or current_app.config["PORT"]
    click.echo(f"docctl on http://{host}:{port}/")
    # One worker leads the scheduler (services/scheduler.py); the others stand by.
    os.environ["DOCCTL_SCHEDULER"] = "1"
    args = [sys.executable, "-m", "gunicorn", "--config", "python:docctl.gunicorn_conf",
            "--workers", str(workers), "--bind", f"{host}:{port}", "--access-logfile", "-",
            # Several instances may share a machine; gunicorn's control socket is one per user.
            "--no-control-socket", "docctl.wsgi:app"]
    os.execv(sys.executable, args)  # noqa: S606 (fixed argv, no shell)


@click.command("create-department")
@click.argument("code")
@click.argument("name")
@click.option("--name-en", default=None, help="The department's English name.")
@with_appcontext
def create_department(code: str, name: str, name_en: str | None):
    """Create a department (code as the agency writes it, Vietnamese name)."""
    from docctl.errors import DocctlError
    from docctl.services import departments

    try:
        department = departments.create_department(None, code=code, name=name,
                                                   name_en=name_en)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"created department {department.code}: {department.name}")


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", "roles", required=True, multiple=True,
              type=click.Choice(["admin", "controller", "reviewer", "approver", "staff",
                                 "auditor"]),
              help="A role; repeat for several (--role staff --role reviewer).")
@click.option("--department", default=None)
@click.option("--email", default=None)
@click.password_option()
@with_appcontext
def create_user(username, display_name, roles, department, email, password):
    """Create a user account with one or more roles."""
    from docctl.errors import DocctlError
    from docctl.services import users

    try:
        user = users.create_user(None, username=username, display_name=display_name,
                                 role=list(roles), password=password,
                                 department_code=department, email=email)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"created {user.username} ({', '.join(user.roles)})")


@click.command("unlock-user")
@click.argument("username")
@click.option("--reset-two-step", is_flag=True,
              help="Also remove the user's two-step sign-in (a lost phone and codes).")
@with_appcontext
def unlock_user(username: str, reset_two_step: bool):
    """Clear a user's failed sign-in counters (and optionally their two-step sign-in)."""
    from docctl.services import users

    try:
        users.unlock(username, reset_two_step=reset_two_step)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"unlocked {username}" + (" and removed two-step sign-in" if reset_two_step
                                         else ""))


@click.command()
@with_appcontext
def tick():
    """Run one housekeeping pass now: what the scheduler of `docctl serve` does by itself."""
    from docctl.services import scheduler

    done = scheduler.run_pass(tidy=True, due=True, maintain=True)
    settled = done.get("intents")
    settled = (", ".join(f"{n} {state}" for state, n in settled.items())
               if isinstance(settled, dict) else settled)
    click.echo(f"{done.get('took_effect', 0)} revision(s) took effect; "
               f"interrupted changes: {settled}; index jobs applied: {done.get('index_jobs')}; "
               f"store {done.get('store') or 'clean'}; maintained: {done.get('maintained')}")
    if "failed" in done.values():
        sys.exit(1)


@click.command()
@with_appcontext
def reindex():
    """Rebuild the search index from the revisions' texts in the database."""
    from docctl.services import indexing

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label="indexing revisions")
            bar.__enter__()
        bar.update(done - bar.pos)

    count = indexing.reindex(progress=progress)
    if bar is not None:
        bar.__exit__(None, None, None)
    click.echo(f"search index rebuilt: {count} revision(s).")
