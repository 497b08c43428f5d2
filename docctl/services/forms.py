"""Forms that move with their procedure: which form revisions a procedure revision uses."""

from docctl.models import Release


def release_problems(release: Release) -> list[str]:
    """Return why the release would leave forms pointing at a superseded or abolished
    procedure (translated messages); empty when every form is accounted for.

    Filled in by the forms work of issue #11; until then releases carry no form checks.
    """
    return []
