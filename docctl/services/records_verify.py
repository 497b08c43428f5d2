"""Check records against git for `docctl verify`: hashes, folders, keys and signed lists.

A disposed record keeps its record.json and sealed bytes in git and its hashes in the
database; only its key is gone. So every check holds after disposition: verify stays green
while the content is unrecoverable. A disposed record that still has a key, or a filed one
without its key, is a finding.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from docctl.extensions import db
from docctl.models_records import Disposition, DispositionItem, Record, RecordKey
from docctl.services.findings import Finding
from docctl.store import layout
from docctl.store.blobs import read_blobs


def check(gitstore, on_main: set[str] | None) -> list[Finding]:
    """Return a finding for each record or disposition list that git does not bear out."""
    found: list[Finding] = []
    rows = db.session.execute(select(Record.id, Record.slug, Record.year, Record.status,
                                     Record.sha256, Record.sealed_sha256, Record.commit_sha)
                              .where(Record.status.in_(("filed", "disposed")))
                              .order_by(Record.id)).all()
    keyed = set(db.session.scalars(select(RecordKey.record_id)))
    specs, checked = [], []
    for row in rows:
        if row.status == "filed" and row.id not in keyed:
            found.append(Finding("record", f"{row.slug}: filed but its key is missing; its "
                                           "content cannot be opened"))
        if row.status == "disposed" and row.id in keyed:
            found.append(Finding("record", f"{row.slug}: disposed of but its key still "
                                           "exists; the content was not destroyed"))
        if not row.commit_sha:
            found.append(Finding("record", f"{row.slug}: no commit recorded"))
            continue
        if on_main is not None and row.commit_sha not in on_main:
            found.append(Finding("record", f"{row.slug}: commit {row.commit_sha[:12]} is not "
                                           "on the store's main branch"))
        folder = layout.record_dir(row.year, row.slug)
        specs += [(row.commit_sha, f"{folder}/{layout.SEALED}"),
                  (row.commit_sha, f"{folder}/{layout.RECORD_JSON}")]
        checked.append(row)
    blobs = iter(read_blobs(gitstore, specs))
    for row in checked:
        (_c, _p, sealed), (_c2, _p2, facts) = next(blobs), next(blobs)
        if sealed is None or facts is None:
            found.append(Finding("record", f"{row.slug}: its files are missing from git"))
            continue
        if hashlib.sha256(sealed).hexdigest() != row.sealed_sha256:
            found.append(Finding("record", f"{row.slug}: sealed content in git does not match "
                                           "the recorded SHA-256"))
        told = json.loads(facts)
        if told.get("sha256") != row.sha256 or \
                (told.get("sealed") or {}).get("sha256") != row.sealed_sha256:
            found.append(Finding("record", f"{row.slug}: record.json in git does not match "
                                           "the database's hashes"))
    found += _check_dispositions(gitstore, on_main)
    return found


def _check_dispositions(gitstore, on_main: set[str] | None) -> list[Finding]:
    found = []
    for listing in db.session.scalars(select(Disposition).where(Disposition.status == "done")):
        if not listing.commit_sha or (on_main is not None and listing.commit_sha not in on_main):
            found.append(Finding("record", f"{listing.slug}: signed disposition list has no "
                                           "commit on the main branch"))
            continue
        path = f"{layout.disposition_dir(listing.slug)}/disposition.json"
        data = next(iter(read_blobs(gitstore, [(listing.commit_sha, path)])))[2]
        if data is None:
            found.append(Finding("record", f"{listing.slug}: disposition.json missing from git"))
            continue
        in_git = {(r["record"], r["sha256"]) for r in json.loads(data)["records"]}
        in_db = set(db.session.execute(select(Record.slug, Record.sha256).join(
            DispositionItem, DispositionItem.record_id == Record.id).where(
            DispositionItem.disposition_id == listing.id)).all())
        if in_git != {tuple(pair) for pair in in_db}:
            found.append(Finding("record", f"{listing.slug}: the records listed in git differ "
                                           "from the database"))
    return found
