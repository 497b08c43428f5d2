"""The docctl command: init, serve, create-department, create-user, tick, reindex (and more)."""

import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from docctl import cli_import, cli_ops

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
                    *cli_import.COMMANDS, *cli_ops.COMMANDS):
        app.cli.add_command(command)   # `flask --app docctl …` too


# backup, restore and verify build the app themselves: restore needs an empty data folder
# first, and verify must report an app that cannot start instead of dying in a traceback.
for _command in cli_ops.COMMANDS:
    main.add_command(_command)


@click.command()
@click.option("--demo", is_flag=True, help="Load the demo organisation.")
@with_appcontext
def init(demo: bool):
    """Create or upgrade the database and git store (idempotent)."""
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
    indexing.catch_up()


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
@with_appcontext
def create_department(code: str, name: str):
    """Create a department (code as the agency writes it, Vietnamese name)."""
    from docctl.errors import DocctlError
    from docctl.services import departments

    try:
        department = departments.create_department(None, code=code, name=name)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"created department {department.code}: {department.name}")


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", required=True,
              type=click.Choice(["admin", "controller", "reviewer", "approver", "staff",
                                 "auditor"]))
@click.option("--department", default=None)
@click.password_option()
@with_appcontext
def create_user(username, display_name, role, department, password):
    """Create a user account."""
    from docctl.errors import DocctlError
    from docctl.services import users

    try:
        user = users.create_user(None, username=username, display_name=display_name,
                                 role=role, password=password, department_code=department)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"created {user.username} ({user.role})")


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
