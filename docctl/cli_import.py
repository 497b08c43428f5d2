"""`docctl import [--dry-run] [--json] DIR`: bring an existing documented system in."""

import json
import sys

import click
from flask.cli import with_appcontext


def _table(rows: list[dict]) -> None:
    from docctl.services import organisation

    for row in rows:
        number = "-" if row["row"] is None else str(row["row"])
        label = "" if row["issue"] is None else organisation.label(row["issue"],
                                                                   row["amendment"] or 0)
        when = row["effective_date"] or ""
        if when:
            year, month, day = when.split("-")
            when = f"{day}/{month}/{year}"
        click.echo(f"{number:>4}  {row['action']:<6}  {row['code'] or '':<18} {label:<6} "
                   f"{when:<10}  {row['file'] or ''}  {row['message']}")


def _importer(username: str | None):
    from sqlalchemy import select

    from docctl.domain.permissions import Perm, has_perm
    from docctl.extensions import db
    from docctl.models import User

    if username:
        user = db.session.scalar(select(User).where(User.username == username,
                                                    User.active.is_(True)))
        if user is None:
            raise click.ClickException(f"no active user {username}")
        return user
    able = [u for u in db.session.scalars(select(User).where(User.active.is_(True)))
            if has_perm(u.role, Perm.REGISTER)]
    if len(able) != 1:
        raise click.ClickException("name the user who imports (a document controller) "
                                   "with --as USERNAME")
    return able[0]


@click.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--as", "username", default=None,
              help="The user who imports and signs (default: the only document controller).")
@with_appcontext
def import_command(folder: str, dry_run: bool, as_json: bool, username: str | None):
    """Import the documents of FOLDER, which holds the files and one master list."""
    from docctl.errors import DocctlError
    from docctl.services import importing, importsource

    try:
        source = importsource.from_folder(folder)
        if dry_run:
            plan = importing.dry_run(_importer(username) if username else None, source)
        else:
            actor = _importer(username)
            run = importing.begin(actor, source.name)
            with click.progressbar(length=1, label="importing", file=sys.stderr) as bar:
                def progress(done: int, total: int) -> None:
                    bar.length = max(total, 1)
                    bar.update(done - bar.pos)

                plan = importing.carry_out(actor, run.id, source, progress=progress)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from None
    rows = [r.as_json() for r in plan.rows]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        _table(rows)
        counts = plan.counts()
        click.echo(f"{counts['import']} to import, {counts['skip']} skipped, "
                   f"{counts['error']} refused" if dry_run else
                   f"{counts['import']} imported, {counts['skip']} skipped, "
                   f"{counts['error']} refused")
    sys.exit(0 if plan.ok else 1)


COMMANDS: tuple = (import_command,)
