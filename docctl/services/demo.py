"""The demo organisation: a provincial department with a lived-in ISO register."""

from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from docctl import office
from docctl.extensions import db
from docctl.models import Department, User
from docctl.services import documents, publishing, reviews, users

DEPARTMENTS = [
    ("VP", "Văn phòng Sở"),
    ("KHTC", "Phòng Kế hoạch – Tài chính"),
    ("QLKH", "Phòng Quản lý khoa học"),
    ("TĐC", "Chi cục Tiêu chuẩn Đo lường Chất lượng"),
    ("TTRA", "Thanh tra Sở"),
]

PEOPLE = [
    ("admin", "Nguyễn Văn Quản", "admin", "VP"),
    ("secretary", "Trần Thị Thu Hà", "controller", "VP"),
    ("reviewer", "Lê Minh Tuấn", "reviewer", "VP"),
    ("approver", "Phạm Quốc Hùng", "approver", "VP"),
    ("staff", "Hoàng Thị Lan", "staff", "QLKH"),
    ("auditor", "Đỗ Văn Bình", "auditor", "TĐC"),
]

SECTIONS = ("1. Mục đích", "2. Phạm vi áp dụng", "3. Tài liệu viện dẫn",
            "4. Định nghĩa và từ viết tắt", "5. Nội dung quy trình", "6. Hồ sơ")

# code, type, title, department, parent, [(effective date, reason, extra sentence)], withdrawn
REGISTER = [
    ("STCL-01", "manual", "Sổ tay chất lượng", "VP", None,
     [(date(2024, 3, 1), "", "Sổ tay mô tả hệ thống quản lý chất lượng theo TCVN ISO 9001:2015."),
      (date(2025, 7, 1), "Cập nhật sơ đồ tổ chức theo Quyết định 3494/QĐ-UBND",
       "Bổ sung sơ đồ tổ chức mới sau sắp xếp bộ máy.")], None),
    ("CSCL-01", "policy", "Chính sách chất lượng", "VP", None,
     [(date(2024, 3, 1), "", "Lãnh đạo Sở cam kết giải quyết thủ tục hành chính đúng hạn, "
       "công khai, minh bạch.")], None),
    ("MTCL-01", "objective", "Mục tiêu chất lượng năm 2026", "VP", "CSCL-01",
     [(date(2025, 1, 15), "", "100% hồ sơ thủ tục hành chính được giải quyết đúng hạn."),
      (date(2026, 1, 10), "Mục tiêu năm 2026 theo kế hoạch của Ban chỉ đạo ISO tỉnh",
       "Tỷ lệ hài lòng của tổ chức, cá nhân đạt từ 95% trở lên.")], None),
    ("QT-01", "procedure", "Quy trình kiểm soát tài liệu", "VP", None,
     [(date(2024, 3, 1), "", "Thư ký ISO cập nhật danh mục tài liệu nội bộ."),
      (date(2025, 2, 1), "Bổ sung bước kiểm tra tài liệu có nguồn gốc bên ngoài",
       "Văn bản pháp luật được rà soát hiệu lực hằng quý."),
      (date(2026, 4, 1), "Áp dụng phần mềm quản lý tài liệu điện tử",
       "Tài liệu được ban hành và phân phối qua hệ thống docctl.")], None),
    ("BM-01-01", "form", "Phiếu đề nghị ban hành, sửa đổi tài liệu", "VP", "QT-01",
     [(date(2024, 3, 1), "", "Người đề nghị ghi rõ nội dung và lý do sửa đổi.")], None),
    ("BM-01-02", "form", "Danh mục tài liệu nội bộ", "VP", "QT-01",
     [(date(2024, 3, 1), "", "Danh mục gồm mã hiệu, tên tài liệu, lần ban hành, ngày hiệu lực.")],
     None),
    ("QT-02", "procedure", "Quy trình kiểm soát hồ sơ", "VP", None,
     [(date(2024, 3, 1), "", "Hồ sơ được lưu trữ theo thời hạn quy định.")], None),
    ("BM-02-01", "form", "Danh mục hồ sơ", "VP", "QT-02",
     [(date(2024, 3, 1), "", "Ghi tên hồ sơ, nơi lưu, thời hạn lưu trữ, người lưu.")], None),
    ("QT-03", "procedure", "Quy trình đánh giá nội bộ", "TĐC", None,
     [(date(2024, 5, 1), "", "Đánh giá nội bộ ít nhất một lần mỗi năm."),
      (date(2025, 9, 1), "Điều chỉnh theo hướng dẫn của Ban chỉ đạo ISO tỉnh",
       "Chuyên gia đánh giá không đánh giá công việc của chính mình.")], None),
    ("BM-03-01", "form", "Chương trình đánh giá nội bộ", "TĐC", "QT-03",
     [(date(2024, 5, 1), "", "Lịch đánh giá theo từng phòng, đơn vị.")], None),
    ("BM-03-02", "form", "Phiếu ghi chép đánh giá nội bộ", "TĐC", "QT-03",
     [(date(2024, 5, 1), "", "Ghi nhận bằng chứng khách quan và điểm không phù hợp.")], None),
    ("QT-04", "procedure", "Quy trình kiểm soát sản phẩm không phù hợp", "QLKH", None,
     [(date(2024, 6, 1), "", "Kết quả giải quyết thủ tục hành chính sai sót được xử lý ngay.")],
     None),
    ("BM-04-01", "form", "Phiếu theo dõi sản phẩm không phù hợp", "QLKH", "QT-04",
     [(date(2024, 6, 1), "", "Mô tả sự không phù hợp, nguyên nhân, hành động khắc phục.")], None),
    ("QT-05", "procedure", "Quy trình tiếp nhận và xử lý đơn thư", "TTRA", None,
     [(date(2024, 6, 1), "", "Đơn thư được phân loại trong 03 ngày làm việc.")],
     (date(2025, 12, 15), "Thủ tục đã được chuyển sang Quy trình giải quyết khiếu nại QT-07")),
    ("TLBN-01", "external", "Nghị định 30/2020/NĐ-CP về công tác văn thư", "VP", None,
     [(date(2024, 3, 1), "", "Quy định thể thức và kỹ thuật trình bày văn bản hành chính.")],
     None),
]


def _at(day: date, hour: int = 9) -> datetime:
    # 09:00 in Hà Nội is 02:00 UTC.
    return datetime(day.year, day.month, day.day, hour - 7, 0, tzinfo=UTC)


class _Clock:
    def __init__(self):
        self.moment = None

    def __call__(self):
        return self.moment


def _body(code: str, title: str, sentence: str, revision: int) -> bytes:
    paragraphs = []
    for heading in SECTIONS:
        paragraphs.append(heading)
        paragraphs.append(f"{title}: {sentence}" if heading.startswith("5") else
                          f"Nội dung mục «{heading[3:]}» của {title.lower()}.")
    table = [["Bước", "Nội dung công việc", "Trách nhiệm", "Thời gian"],
             ["1", "Tiếp nhận và kiểm tra", "Chuyên viên", "01 ngày"],
             ["2", "Xem xét, trình ký", "Trưởng phòng", "02 ngày"],
             ["3", "Phê duyệt, ban hành", "Giám đốc Sở", "01 ngày"]]
    return office.build_docx(title, paragraphs, code=code,
                             header=f"{code} · Lần ban hành: {revision:02d}", table=table)


def load(password: str, progress=print) -> bool:
    """Create the demo organisation unless it exists; return whether it was created."""
    if db.session.scalar(select(User).where(User.username == "admin")) is not None:
        return False
    clock = _Clock()
    current_app.config["DOCCTL_CLOCK"] = clock
    try:
        clock.moment = _at(date(2024, 2, 1))
        for code, name in DEPARTMENTS:
            db.session.add(Department(code=code, name=name))
        db.session.commit()
        people = {}
        for username, name, role, dept in PEOPLE:
            people[username] = users.create_user(None, username=username, display_name=name,
                                                 role=role, password=password,
                                                 department_code=dept, demo=True)
        steps = [step for entry in REGISTER for step in _steps(people, password, *entry)]
        # Play every document's story in calendar order, so git history reads forward in time.
        for moment, _order, action in sorted(steps, key=lambda s: (s[0], s[1])):
            clock.moment = moment
            action()
        progress(f"  {len(REGISTER)} documents with their revisions")
        _work_in_progress(people, password, clock)
    finally:
        current_app.config.pop("DOCCTL_CLOCK", None)
    publishing.take_effect_due()
    return True


def _steps(people, password, code, doc_type, title, dept, parent, issues, withdrawn):
    """Return (moment, order, action) steps that tell one document's story."""
    secretary, approver, reviewer = people["secretary"], people["approver"], people["reviewer"]
    data = {"type": doc_type, "title": title, "department": dept, "code": code}
    if parent:
        data["parent"] = parent
    if doc_type == "external":
        data["external_source"] = "Chính phủ (Công báo số 505+506/2020)"
    first = issues[0][0]
    # Parents sort before their forms on the same day (order = position in REGISTER).
    order = [entry[0] for entry in REGISTER].index(code)
    steps = [(_at(first - timedelta(days=21)), order,
              lambda: documents.register_document(secretary, data))]
    for number, (effective, reason, sentence) in enumerate(issues, start=1):
        body = _body(code, title, sentence, number)
        steps += [
            (_at(effective - timedelta(days=14)), order, lambda n=number, b=body, r=reason: (
                documents.upload_revision(secretary, code, filename=f"{code}.docx", data=b,
                                          reason=r, change="reissue"),
                reviews.submit(secretary, code, n, reviewers=["reviewer"],
                               approver="approver"))),
            (_at(effective - timedelta(days=10), 14), order, lambda n=number: reviews.review(
                reviewer, code, n, decision="accept",
                comment="Nội dung phù hợp, đề nghị phê duyệt.")),
            (_at(effective - timedelta(days=7), 10), order, lambda n=number, e=effective:
                publishing.approve(approver, code, n, password=password, effective_date=e)),
            (_at(effective, 7), order, publishing.take_effect_due),
        ]
    if withdrawn:
        day, reason = withdrawn
        steps.append((_at(day, 15), order, lambda: publishing.withdraw(
            secretary, code, reason=reason, password=password)))
    return steps


def _work_in_progress(people, password, clock):
    """Leave a draft in review and an approved revision waiting for its date."""
    secretary = people["secretary"]
    clock.moment = _at(date(2026, 11, 2))
    documents.upload_revision(secretary, "QT-02", filename="QT-02 sua doi.docx",
                              data=_body("QT-02", "Quy trình kiểm soát hồ sơ",
                                         "Hồ sơ điện tử được lưu trên hệ thống docctl.", 2),
                              reason="Bổ sung lưu trữ hồ sơ điện tử", change="amendment")
    reviews.submit(secretary, "QT-02", 2, reviewers=["reviewer"], approver="approver")
    documents.register_document(secretary, {"type": "procedure", "department": "QLKH",
                                            "title": "Quy trình cấp giấy chứng nhận đăng ký "
                                                     "hoạt động khoa học và công nghệ"})
    documents.upload_revision(secretary, "QT-06", filename="QT-06.docx",
                              data=_body("QT-06", "Quy trình cấp giấy chứng nhận",
                                         "Thời hạn giải quyết 05 ngày làm việc.", 1))
    future = date.today() + timedelta(days=30)
    clock.moment = _at(date(2026, 11, 10))
    documents.upload_revision(secretary, "BM-01-02", filename="BM-01-02.docx",
                              data=_body("BM-01-02", "Danh mục tài liệu nội bộ",
                                         "Bổ sung cột ngày rà soát định kỳ.", 2),
                              reason="Bổ sung cột ngày rà soát định kỳ", change="reissue")
    reviews.submit(secretary, "BM-01-02", 2, reviewers=["reviewer"], approver="approver")
    reviews.review(people["reviewer"], "BM-01-02", 2, decision="accept", comment="Đồng ý.")
    publishing.approve(people["approver"], "BM-01-02", 2, password=password,
                       effective_date=future)
