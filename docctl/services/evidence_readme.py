"""The README.txt of an evidence package: what is inside and how to check it by hand."""

README = """\
GÓI HỒ SƠ BẰNG CHỨNG / EVIDENCE PACKAGE — docctl
================================================

Phạm vi / Scope:        {scope}
Lập lúc / Generated:    {generated}
Người lập / By:         {who}
Kho git / Git store:    HEAD {head} at generation

CONTENTS
  README.txt          this file
  SHA256SUMS          the SHA-256 of every other file in this package
  manifest.json       documents, revisions, signatures, SHA-256 hashes, git commits and tags,
                      and the audit entries concerned (machine-readable, exact values)
  manifest.docx       the same facts for reading and printing (page views are only counted)
  audit-entries.csv   the audit entries concerned, in sequence order
  <code>/rNN/original/<code>_rNN.docx
                      the revision's file, byte for byte as approved (or as uploaded, for a
                      revision that was never approved)
  <code>/rNN/stamped/<code>_rNN[_SUFFIX].docx
                      a controlled copy of it, stamped for the person who made this package

1. IS THE PACKAGE COMPLETE AND UNCHANGED?
     sha256sum -c SHA256SUMS
   (macOS: shasum -a 256 -c SHA256SUMS; Windows: certutil -hashfile <file> SHA256 for each
   file, comparing with the line in SHA256SUMS.) Every line must say OK. SHA256SUMS travels
   inside the package, so also check the package itself: the SHA-256 of the .zip you received
   must equal the "sha256" of the "evidence_downloaded" entry that recorded this download in
   docctl's audit log.

2. IS AN ORIGINAL THE APPROVED FILE?
   Its SHA-256 must equal the revision's "sha256" in manifest.json, which is also the
   "content_sha256" of each of its signatures:
     sha256sum <code>/rNN/original/<code>_rNN.docx

3. DOES IT MATCH THE GIT STORE? (on the server, in docctl's data directory)
   For a published revision manifest.json gives "commit" and "git_path". Then
     git -C repo_store show <commit>:<git_path> | sha256sum
   prints the same hash, and
     git -C repo_store log -1 --format=%B <commit>
   shows the commit's trailers: Docctl-Document, Docctl-Revision, Content-SHA256 (the same
   hash again), Approved-By, Approved-At, Effective-Date and Audit-Head (the audit entry that
   was newest when the commit was made). Each published revision also has an annotated tag
   ("tag" in manifest.json) that never moves:
     git -C repo_store rev-parse "<tag>^{{commit}}"
   must print the same commit. The tags are not signed, so `git tag -v` does not apply:
   `docctl verify` checks every tag against the database, and `git -C repo_store fsck --full
   --strict` checks that no git object was altered.

4. STAMPED COPIES
   A stamped copy carries who took it and when, so its hash differs from the approved file's
   on purpose. It is listed in SHA256SUMS as a file of this package, nothing more.

5. SIGNATURES
   Each electronic signature is sealed (HMAC-SHA-256) with a key only the server holds, binding
   signer, meaning, time, revision and content hash. Only `docctl verify` on the server can
   check a seal; manifest.json says whether each one verified when this package was made.

6. AUDIT ENTRIES
   The audit trail is a hash chain. For each entry in manifest.json ("audit_entries"):
     hash = SHA-256( prev_hash + canonical JSON of the fields seq, at, actor_id, actor_name,
                     actor_role, action, object_type, object_id, document_code,
                     revision_number, details, reason, source_ip )
   where the canonical JSON has its keys sorted, no spaces (separators "," and ":"), UTF-8
   without escapes, and "details" is the JSON text exactly as stored. In Python:
     import hashlib, json
     F = ["seq", "at", "actor_id", "actor_name", "actor_role", "action", "object_type",
          "object_id", "document_code", "revision_number", "details", "reason", "source_ip"]
     for e in json.load(open("manifest.json", encoding="utf-8"))["audit_entries"]:
         body = json.dumps({{k: e[k] for k in F}}, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
         assert hashlib.sha256((e["prev_hash"] + body).encode()).hexdigest() == e["hash"]
   The entries here are an extract: each one's prev_hash is the hash of the entry before it
   in the whole trail, which may not be in this package. `docctl verify` checks the whole
   chain and compares it with the Audit-Head anchors in git. In audit-entries.csv a value
   starting with = + - or @ is prefixed with ' so that spreadsheets do not run it as a
   formula: use manifest.json to recompute hashes.
"""
