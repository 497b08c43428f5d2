"""`python bench/stamp_overlap.py`: words of the original a stamp covers, old stamp vs new.

Renders each letterhead test document and each accepted corpus file, its copy with the stamp
of commit 1b29496 (the header block appended to the existing header; read from git) and its
copy with today's band, in one LibreOffice run; then counts, per document, the original's words
and images that a stamp word covers, and the original's page-1 words the copy lost.
"""

import dataclasses
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docctl.office import stamp as stamp_module  # noqa: E402
from tests.office import overlap  # noqa: E402
from tests.office.test_overlap import INFO, ORIGINALS  # noqa: E402

OLD_COMMIT = "1b29496"


def _old_stamp():
    """Return the stamp module as it was before the band (None if git cannot show it)."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show",
                                 f"{OLD_COMMIT}:docctl/office/stamp.py"], capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    folder = Path(tempfile.mkdtemp(prefix="docctl-old-stamp-"))
    (folder / "docctl_old_stamp.py").write_text(source)
    spec = importlib.util.spec_from_file_location("docctl_old_stamp",
                                                  folder / "docctl_old_stamp.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["docctl_old_stamp"] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    """Print one row per document and whether the target (nothing covered or lost) is met."""
    reason = overlap.tools_missing()
    if reason:
        print(f"stamp overlap bench not run: {reason}")
        return 0
    old = _old_stamp()
    old_info = old.StampInfo(**{f.name: getattr(INFO, f.name)
                                for f in dataclasses.fields(old.StampInfo)}) if old else None
    documents = {}
    for name, data in ORIGINALS.items():
        documents[name] = data
        documents[f"{name}__new"] = stamp_module.stamp_copy(data, INFO)
        if old:
            documents[f"{name}__old"] = old.stamp_copy(data, old_info)
    started = perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = overlap.render_many(documents, Path(tmp))
        rendered = perf_counter() - started
        print(f"docctl stamp overlap: {len(ORIGINALS)} documents, {len(documents)} renders in "
              f"one LibreOffice run ({rendered:.1f} s)\n")
        print(f"{'document':68} {'pages':>5} {'covered before':>15} {'covered after':>14} "
              f"{'p.1 words lost after':>21}")
        bad = 0
        totals = [0, 0]
        for name in ORIGINALS:
            new = overlap.check(pdfs[name], pdfs[f"{name}__new"],
                                " ".join(stamp_module.stamp_lines(INFO)))
            before = "—"
            if old:
                was = overlap.check(pdfs[name], pdfs[f"{name}__old"],
                                    " ".join(old.stamp_lines(old_info)))
                before = str(was.covered_words)
                totals[0] += was.covered_words
            totals[1] += new.covered_words
            lost = sum(new.missing.values())
            bad += new.covered_words + lost
            print(f"{name:68} {new.pages:>5} {before:>15} {new.covered_words:>14} {lost:>21}")
    print(f"{'total':68} {'':>5} {totals[0] if old else '—':>15} {totals[1]:>14}")
    print("\ncovered = words or images of the original that a word of the stamp overlaps "
          "(pdftotext -bbox, pdftohtml -xml); before = stamp of " + OLD_COMMIT)
    print("target: covered after = 0 and page-1 words lost = 0: "
          + ("MISSED" if bad else "OK"))
    return 0   # like the other parts: a missed target is reported, not an error


if __name__ == "__main__":
    sys.exit(main())
