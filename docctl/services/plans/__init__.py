"""Plans: what each kind of git-backed change commits, and how the database follows it.

Every change to the store is one unit of work (services/publishing.run): an intent is recorded,
its plan builds one commit, git takes it, then the plan applies it to the database in one
transaction (queueing index jobs). A plan is two functions of the intent alone, so recovery
can rebuild nothing and finish a crashed change from the intent and the commit it left:

- build(intent, payload, actor) -> CommitSpec: files by store path, trailers, tags;
- apply(intent, payload, sha, actor) -> None: the database rows that mirror the commit;
- abandon(intent, payload) -> None, optional: undo rows recorded with the intent when no
  commit came of it (a record half filed is absent, a disposition not started).

Kinds register themselves on import; `get` imports the modules that define them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CommitSpec:
    """One commit: files by store path, message parts, and the tags it carries."""

    subject: str
    body: str | None
    files: dict[str, bytes]
    trailers: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """How one kind of change is committed and applied."""

    kind: str
    build: Callable[..., CommitSpec]
    apply: Callable[..., None]
    abandon: Callable[..., None] | None = None
    # False for changes that write only new, write-once folders (a record, a disposition
    # list): they do not depend on the store's head, so another writer's commit is no reason
    # to give them up and retry.
    needs_head: bool = True
    # Work after the database has followed git, outside its transaction; best effort.
    after_commit: Callable[[], None] | None = None


_PLANS: dict[str, Plan] = {}
# Modules that register plans, imported on first use (they import the services they need).
_MODULES = ("docctl.services.plans.revisions",
            "docctl.services.plans.review",
            "docctl.services.plans.release",
            "docctl.services.plans.records")
_EXTRA: list[str] = []


def register(kind: str, *, build: Callable[..., CommitSpec],
             apply: Callable[..., None], abandon: Callable[..., None] | None = None,
             needs_head: bool = True,
             after_commit: Callable[[], None] | None = None) -> Plan:
    """Register the plan of one kind of change; return it."""
    if kind in _PLANS and _PLANS[kind].build is not build:
        raise ValueError(f"plan {kind!r} registered twice")
    plan = Plan(kind, build, apply, abandon, needs_head, after_commit)
    _PLANS[kind] = plan
    return plan


def add_module(name: str) -> None:
    """Name a module that registers plans when imported (for kinds outside this package)."""
    if name not in _EXTRA:
        _EXTRA.append(name)


def get(kind: str) -> Plan:
    """Return the plan of a kind; ValueError for a kind no module registers."""
    if kind not in _PLANS:
        import importlib
        for name in (*_MODULES, *_EXTRA):
            importlib.import_module(name)
    try:
        return _PLANS[kind]
    except KeyError:
        raise ValueError(f"unknown intent kind {kind!r}") from None
