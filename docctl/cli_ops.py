"""The administrator's safety commands: backup, restore, verify [--repair]; never a traceback."""

import sys

import click


def _open_app():
    """Return (app, None), or (None, why the app cannot start)."""
    from docctl import create_app
    from docctl.errors import DocctlError
    try:
        return create_app(), None
    except DocctlError as exc:
        return None, str(exc.message)
    except Exception as exc:   # noqa: BLE001 (reported as a finding, not a traceback)
        from docctl.services.verify import describe
        return None, describe(exc)


@click.command()
@click.option("--no-fsck", is_flag=True, help="Skip git fsck (faster).")
@click.option("--repair", is_flag=True,
              help="First replay into the database what git has and the database lacks.")
def verify(no_fsck: bool, repair: bool):
    """Check git, database, signatures and audit trail; exit 1 on any finding."""
    app, why = _open_app()
    if app is None:
        click.echo(f"FAIL [startup] docctl cannot start: {why}")
        sys.exit(1)
    try:
        with app.app_context():
            repaired = _repair() if repair else True
            ok = report(fsck=not no_fsck) and repaired
    except Exception as exc:   # noqa: BLE001 (the last guard: a finding, never a traceback)
        from docctl.services.verify import describe
        click.echo(f"FAIL [verify] the check itself failed: {describe(exc)}")
        sys.exit(1)
    if not ok:
        sys.exit(1)


def _repair() -> bool:
    from docctl.services import reconcile
    done, problems = reconcile.repair(progress=lambda line: click.echo(f"repair: {line}"))
    click.echo(f"repair: {done} commit(s) replayed into the database from git.")
    for problem in problems:
        click.echo(f"FAIL [{problem.area}] {problem}")
    return not problems


def report(*, fsck: bool) -> bool:
    """Run and record verify, print every finding; return True when all is well."""
    from docctl.services import integrity

    run, findings = integrity.run_and_record(None, fsck=fsck)
    for finding in findings:
        click.echo(f"FAIL [{finding.area}] {finding}")
    if run is not None:
        click.echo(f"verification run {run.id} recorded in the audit trail "
                   f"({run.duration_ms} ms).")
    if findings:
        click.echo(f"{len(findings)} finding(s).")
        return False
    click.echo("OK: git store, database, signatures and audit trail agree.")
    return True


@click.command()
@click.argument("dest", type=click.Path(file_okay=False))
def backup(dest: str):
    """Write a consistent backup into DEST (a new or empty directory) while docctl runs."""
    from docctl.errors import DocctlError
    app, why = _open_app()
    if app is None:
        raise click.ClickException(f"docctl cannot start: {why}")
    from docctl.services import backup as service
    with app.app_context():
        try:
            service.create(dest, progress=click.echo)
        except DocctlError as exc:
            raise click.ClickException(str(exc.message)) from None


@click.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
def restore(src: str):
    """Restore the backup SRC into the empty DOCCTL_DATA_DIR, then verify it."""
    from config import Config
    from docctl.errors import DocctlError
    from docctl.services import restore as service

    try:
        manifest = service.restore(src, Config(), progress=click.echo)
    except DocctlError as exc:
        raise click.ClickException(str(exc.message)) from None
    app, why = _open_app()
    if app is None:
        click.echo(f"FAIL [startup] the restored docctl cannot start: {why}")
        sys.exit(1)
    with app.app_context():
        ok = _finish(app, manifest)
    sys.exit(0 if ok else 1)


def _finish(app, manifest: dict) -> bool:
    """Bring the restored schema up to date, finish in-flight changes, verify."""
    from flask_migrate import upgrade

    from docctl.services import indexing, publishing
    upgrade(directory=app.extensions["migrate"].directory)
    recovered = publishing.recover()
    click.echo(f"changes in flight at backup time: {recovered['finished']} finished, "
               f"{recovered['abandoned']} abandoned")
    indexing.catch_up()
    click.echo(f"restored the backup of {manifest['created_at']}; verifying ...")
    click.echo("settings of the backed-up instance are in settings.json: set the same "
               "DOCCTL_* values here.")
    return report(fsck=True)


COMMANDS = (verify, backup, restore)
