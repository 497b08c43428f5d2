"""The README.txt of a records evidence package: what is inside and how to check it by hand."""

README = """\
GÓI HỒ SƠ BẰNG CHỨNG — HỒ SƠ / EVIDENCE PACKAGE — RECORDS (docctl)
=================================================================

Kỳ / Period:            {start} – {end}
Lập lúc / Generated:    {generated}
Người lập / By:         {who}
Kho git / Git store:    HEAD {head} at generation

Hồ sơ / Records:        {records} ({filed} kèm tệp / with their file, {disposed} đã hủy hoặc
                        không đọc được / destroyed or unreadable)
Danh mục hủy / Disposition lists signed in the period: {dispositions}
Phong tỏa / Legal holds in force in the period:        {holds}

CONTENTS
  README.txt          this file
  MANIFEST.txt        the SHA-256 of every other file in this package (sha256sum format)
  manifest.json       every record of the period you may see: number, form and revision,
                      date, reference, keeper, retention, SHA-256 of the content as filed and
                      of the sealed copy in git, the commit, the procedure that lists it; the
                      disposition lists signed in the period and the legal holds; the
                      internal audits, nonconformities and corrective actions (open and
                      closed) and management reviews of the period, each naming the record
                      its report or minutes were filed as (machine-readable, exact values)
  records/<procedure>/<number>_<file>
                      each record still filed, byte for byte as filed, under the procedure
                      whose records list names it (records made without a form: _<kind>)
  dispositions/<list>/disposition.json
                      each signed disposition list exactly as committed to git, with the
                      hashes of every record it destroyed

A record that was destroyed under a signed disposition list is listed in manifest.json with
"status": "disposed" and its "disposition" (list, signer, time); its content is not here and
exists nowhere any more: its key was destroyed, so the sealed copy in git cannot be opened.

1. IS THE PACKAGE COMPLETE AND UNCHANGED?
     sha256sum -c MANIFEST.txt
   (macOS: shasum -a 256 -c MANIFEST.txt.) Every line must say OK. MANIFEST.txt travels
   inside the package, so also check the package itself: the SHA-256 of the .zip you received
   must equal the "sha256" of the "evidence_downloaded" entry that recorded this download in
   docctl's audit log.

2. IS A FILE THE RECORD AS FILED?
   Its SHA-256 must equal the record's "sha256" in manifest.json, which is also the
   Content-SHA256 trailer of the commit that filed it:
     git -C repo_store log -1 --format=%B <commit>

3. DOES IT MATCH THE GIT STORE? (on the server, in docctl's data directory)
   git holds the record sealed (AES-256-GCM, a key per record kept in the database):
     git -C repo_store show <commit>:<git_path> | sha256sum
   prints the record's "sealed_sha256". A disposition list's "commit" and "git_path" give
   its disposition.json the same way; it must be identical to the copy in this package.
   `docctl verify` checks the whole store, the database and the audit trail.
"""
