"""`python bench/import_bench.py`: import an agency folder of 200 documents, timed.

Generates the folder (procedures with their forms, a master list .xlsx), then measures the dry
run, the import and the process's peak memory, each printed beside its target. Everything runs
on real parts in a temporary data directory (SQLite, git store, index). Exits 0 when every
figure was measured, even if a target is missed.
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import traceback
from datetime import date, timedelta
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name in [n for n in os.environ if n.startswith("DOCCTL_")]:
    del os.environ[_name]   # the bench builds its own world

from bench import world  # noqa: E402
from bench.report import Report  # noqa: E402
from docctl.errors import DocctlError  # noqa: E402
from docctl.extensions import db  # noqa: E402
from docctl.office.generate import build_docx  # noqa: E402
from docctl.office.sheets import write_xlsx  # noqa: E402
from docctl.services import importing, importsource, indexing, uploads  # noqa: E402

PROCEDURES = 40
FORMS_EACH = 4            # 40 procedures + 160 forms = 200 documents
DRY_RUN_TARGET_S = 10.0
IMPORT_TARGET_S = 60.0
MEMORY_TARGET_MIB = 300.0
HEADER = ["STT", "Mã hiệu", "Tên tài liệu", "Loại", "Đơn vị", "Lần ban hành", "Lần sửa đổi",
          "Ngày hiệu lực", "Tài liệu gốc", "Tên tệp", "Người phê duyệt", "Ngày phê duyệt"]


def _pdf(text: str) -> bytes:
    """Return a one-page PDF with a text layer (hand-written: no PDF library needed here)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _samples() -> dict[str, bytes]:
    return {"docx": build_docx("Biểu mẫu", ["Nội dung."], code="BM-00-00"),
            "xlsx": write_xlsx([["Mã hiệu", "BM-00-00"], ["Nội dung", "Biểu mẫu"]]),
            "pdf": _pdf("BM-00-00 Bieu mau")}


def accepted_formats() -> list[str]:
    """Return the formats uploads.read_upload accepts for a form today."""
    found = []
    for media, data in _samples().items():
        try:
            uploads.read_upload("form", f"sample.{media}", data)
            found.append(media)
        except DocctlError:
            continue
    return found


def make_folder(folder: Path, formats: list[str]) -> dict[str, int]:
    """Write 200 documents and their master list; return how many files of each format."""
    rows, mix = [], dict.fromkeys(formats, 0)
    mix["docx"] = mix.get("docx", 0)
    day = date(2024, 1, 1)
    for p in range(1, PROCEDURES + 1):
        code = f"QT-{p:02d}"
        name = f"Quy trình/{code}.docx"
        rows.append([len(rows) + 1, code, f"Quy trình giải quyết thủ tục số {p}", "Quy trình",
                     "VP", 1 + p % 4, p % 3, day + timedelta(days=p), "", name,
                     "Giám đốc Sở", day])
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        paragraphs = [f"Mục đích của quy trình {p}: giải quyết hồ sơ đúng hạn."] * 30
        path.write_bytes(build_docx(rows[-1][2], paragraphs, code=code,
                                    header=f"SỞ KHOA HỌC VÀ CÔNG NGHỆ — {code}",
                                    table=[["Mã hiệu", code], ["Lần ban hành", "01"]]))
        mix["docx"] += 1
        for f in range(1, FORMS_EACH + 1):
            form = f"BM-{p:02d}-{f:02d}"
            media = formats[(p * FORMS_EACH + f) % len(formats)]
            name = f"Biểu mẫu/{form}.{media}"
            rows.append([len(rows) + 1, form, f"Biểu mẫu {f} của quy trình {p}", "Biểu mẫu",
                         "VP", 1, 0, day + timedelta(days=p), code, name, "", ""])
            data = {"docx": lambda c=form: build_docx(f"Biểu mẫu {c}", ["Họ và tên: ....."],
                                                      code=c),
                    "xlsx": lambda c=form: write_xlsx([["Mã hiệu", c], ["Họ và tên", ""]]),
                    "pdf": lambda c=form: _pdf(f"{c} Bieu mau")}[media]()
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            mix[media] += 1
    (folder / "Danh mục tài liệu.xlsx").write_bytes(write_xlsx([HEADER, *rows]))
    return mix


def peak_mib() -> float:
    """Return the process's peak resident memory so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


DOC_SAMPLES = 5


def bench_doc_conversions(report: Report, tmp: Path) -> None:
    """Time .doc → .docx conversions apart: LibreOffice's start dominates an import's .docs."""
    from docctl.office import legacy, pdf
    soffice = pdf.find_soffice()
    if soffice is None:
        report.context(".doc conversions not timed: LibreOffice (soffice) is not installed")
        return
    source = tmp / "doc"
    source.mkdir()
    (source / "sample.docx").write_bytes(build_docx("Quy trình mẫu", ["Nội dung."] * 20))
    subprocess.run([soffice, f"-env:UserInstallation={(tmp / 'lo').as_uri()}", "--headless",
                    "--convert-to", "doc", "--outdir", str(source), str(source / "sample.docx")],
                   check=True, capture_output=True, timeout=120)
    data = (source / "sample.doc").read_bytes()
    took = []
    for _ in range(DOC_SAMPLES):
        start = perf_counter()
        legacy.convert_doc(data, timeout=60)
        took.append(perf_counter() - start)
    took.sort()
    report.context(f".doc → .docx conversion, {DOC_SAMPLES} files one after another: median "
                   f"{took[len(took) // 2]:.1f} s, slowest {took[-1]:.1f} s a file (no target; "
                   f"an import of N .doc files adds about N × the median)")


def main() -> int:
    report = Report()
    tmp = Path(tempfile.mkdtemp(prefix="docctl-import-bench-"))
    print(f"docctl import bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"data in {tmp}")
    try:
        app = world.build_app(tmp / "data")
        with app.app_context():
            people = world.create_schema_and_people()
            secretary = db.session.merge(people["secretary"], load=True)
            formats = accepted_formats()
            mix = make_folder(tmp / "agency", formats)
            report.heading(f"Agency folder: {sum(mix.values())} documents, "
                           + ", ".join(f"{n} .{m}" for m, n in mix.items())
                           + " (no .doc in the 200: each .doc is converted by LibreOffice, "
                             "timed apart below)")
            start = perf_counter()
            source = importsource.from_folder(str(tmp / "agency"))
            plan = importing.dry_run(secretary, source)
            dry = perf_counter() - start
            counts = plan.counts()
            report.figure("dry run, 200 documents", "time", dry, "s", DRY_RUN_TARGET_S,
                          extra=f"{counts['import']} to import, {counts['error']} refused")
            start = perf_counter()
            run = importing.begin(secretary, source.name)
            plan = importing.carry_out(secretary, run.id, importsource.from_folder(
                str(tmp / "agency")))
            took = perf_counter() - start
            counts = plan.counts()
            report.figure("import, 200 documents (dry run included)", "time", took, "s",
                          IMPORT_TARGET_S, extra=f"{counts['import']} imported, "
                          f"{counts['error']} refused, {took / max(counts['import'], 1) * 1000:.0f}"
                          " ms a document")
            report.figure("peak memory of the process", "max", peak_mib(), "MiB",
                          MEMORY_TARGET_MIB, extra="ru_maxrss, generation included")
            start = perf_counter()
            indexing.catch_up()
            report.context(f"index jobs applied afterwards (the scheduler's work): "
                           f"{perf_counter() - start:.1f} s, no target")
            start = perf_counter()
            again = importing.carry_out(secretary, importing.begin(secretary, "again").id,
                                        importsource.from_folder(str(tmp / "agency")))
            report.context(f"re-run of the same folder: {perf_counter() - start:.1f} s, "
                           f"{again.counts()['skip']} skipped, "
                           f"{again.counts()['import']} imported")
            bench_doc_conversions(report, tmp)
        app.extensions["docctl.store"].close()
        missed = [f for f in report.figures if not f["ok"]]
        print(f"\n{len(report.figures) - len(missed)} of {len(report.figures)} targets met")
        return 0
    except Exception:
        traceback.print_exc()
        print("\nbench failed: figures above were measured, the rest were not.",
              file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
