"""The administrator's commands for departments and users after `docctl init`."""

import click
from flask.cli import with_appcontext


def _fail(exc) -> click.ClickException:
    return click.ClickException(str(exc.message))


@click.command("update-department")
@click.argument("code")
@click.option("--name", default=None, help="The new Vietnamese name.")
@click.option("--name-en", default=None, help="The new English name ('' clears it).")
@click.option("--deactivate/--reactivate", "deactivate", default=None,
              help="Stop (or resume) offering the department for new documents and users.")
@with_appcontext
def update_department(code: str, name: str | None, name_en: str | None,
                      deactivate: bool | None):
    """Rename, deactivate or reactivate a department (it is never deleted)."""
    from docctl.errors import DocctlError
    from docctl.services import departments

    try:
        department = departments.update_department(
            None, code, name=name, name_en=name_en or None, clear_name_en=name_en == "",
            active=None if deactivate is None else not deactivate)
    except DocctlError as exc:
        raise _fail(exc) from None
    state = "active" if department.active else "deactivated"
    click.echo(f"department {department.code}: {department.name} ({state})")


@click.command("update-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True,
              type=click.Choice(["admin", "controller", "reviewer", "approver", "staff",
                                 "auditor"]),
              help="The user's roles from now on; repeat for several.")
@click.option("--department", default=None)
@click.option("--name", default=None)
@click.option("--email", default=None, help="'' clears it.")
@click.option("--deactivate/--reactivate", "deactivate", default=None)
@with_appcontext
def update_user(username, roles, department, name, email, deactivate):
    """Change a user's roles, department, name, e-mail, or deactivate the account."""
    from docctl.errors import DocctlError
    from docctl.services import user_admin

    changes = {"roles": list(roles)} if roles else {}
    if department is not None:
        changes["department"] = department or None
    if name is not None:
        changes["name"] = name
    if email is not None:
        changes["email"] = email
    if deactivate is not None:
        changes["active"] = not deactivate
    try:
        user = user_admin.update_user(None, username, changes)
    except DocctlError as exc:
        raise _fail(exc) from None
    click.echo(f"{user.username} ({', '.join(user.roles)})"
               + ("" if user.active else " deactivated"))


@click.command("reset-password")
@click.argument("username")
@with_appcontext
def reset_password(username: str):
    """Give a user a generated temporary password (printed once) to change at next sign-in."""
    from docctl.errors import DocctlError
    from docctl.services import user_admin

    try:
        temporary = user_admin.reset_password(None, username)
    except DocctlError as exc:
        raise _fail(exc) from None
    click.echo(f"temporary password for {username} (shown once; to be changed at the next "
               f"sign-in): {temporary}")


COMMANDS = (update_department, update_user, reset_password)
