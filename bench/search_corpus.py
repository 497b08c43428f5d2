"""The search bench's corpus: Vietnamese documents of ~8 KB, and SQLite FTS5 over the same."""

import hashlib
import random
import sqlite3
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from bench.report import summary
from docctl.domain.textfold import code_slug, fold
from docctl.models import Document, Revision

REPEATS = 2


# Words of agency procedures; sentences drawn from them with a Zipf-like skew.
_WORDS = (
    "quy trình kiểm soát tài liệu hồ sơ biểu mẫu phê duyệt ban hành sửa đổi bổ sung lãnh đạo "
    "phòng ban đơn vị cán bộ công chức thủ tục hành chính tiếp nhận giải quyết trả kết quả "
    "chất lượng mục tiêu chính sách hướng dẫn công việc đánh giá nội bộ khắc phục phòng ngừa "
    "rủi ro cơ hội cải tiến khách hàng tổ chức cá nhân thời hạn lưu trữ bảo quản hủy xem xét "
    "định kỳ năng lực đào tạo nhân sự cơ sở vật chất môi trường làm việc theo dõi đo lường "
    "phân tích dữ liệu sự không phù hợp trách nhiệm quyền hạn thẩm quyền ký văn thư lưu hành "
    "nơi nhận phạm vi áp dụng định nghĩa viết tắt nội dung tiến trình thực hiện biên bản báo "
    "cáo kế hoạch thông báo quyết định tờ trình ở ý an in to y tế giáo dục khoa học công nghệ "
    "tiêu chuẩn sở hữu trí tuệ an toàn bức xạ giấy phép thẩm định hội đồng nghiệm thu đề tài "
    "dự án ngân sách kinh phí thanh toán quyết toán hợp đồng nhiệm vụ cấp tỉnh cấp cơ sở "
    "đăng ký chứng nhận kiểm định hiệu chuẩn phương tiện đo mã số mã vạch tem nhãn hàng hóa "
    "thanh tra kiểm tra xử lý vi phạm khiếu nại tố cáo tiếp công dân một cửa liên thông "
    "trực tuyến cổng dịch vụ công điện tử số hóa chữ ký số bảo mật thông tin mạng máy chủ "
    "sao lưu phục hồi sự cố báo cáo định kỳ tổng hợp thống kê chỉ tiêu tiến độ đôn đốc")
VOCAB = sorted(set(_WORDS.split()))
# A long tail of syllables beside them, as real texts have: rarer words, fewer documents.
_ONSET_TEXT = "b c ch d đ g h k kh l m n ng nh ph qu s t th tr v x"
_ONSETS = _ONSET_TEXT.split() + [""]
_RHYME_TEXT = ("a ai an ang anh at ac am ao ay ăn ăng ăt âm ân âng ât âu ây e em en et eo ê êm "
               "ên ênh êt êu i im in inh it ich iêu iên iêt o oi om on ong ot oc oa oan oat ô ôi "
               "ôm ôn ông ôt ôc ơ ơi ơm ơn ơt u ui um un ung ut uc uân uât uôi uôn uông uôc ư ưa "
               "ưi ưng ưt ưc ươi ươn ương ươc ươt")
_RHYMES = _RHYME_TEXT.split()
_TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]


def _syllables(rng: random.Random, count: int) -> list[str]:
    """Return count distinct made-up Vietnamese syllables, tone marks included."""
    found: set[str] = set(VOCAB)
    out = []
    while len(out) < count:
        rhyme = rng.choice(_RHYMES)
        # The tone sits on the vowel with a hat or horn if there is one, else the first vowel.
        at = max((i for i, c in enumerate(rhyme) if c in "âăêôơư"), default=0)
        word = unicodedata.normalize(
            "NFC", rng.choice(_ONSETS) + rhyme[:at + 1] + rng.choice(_TONES) + rhyme[at + 1:])
        if word not in found:
            found.add(word)
            out.append(word)
    return out


class Corpus:
    """Documents of Vietnamese text (~8 KB each), reproducible from a seed."""

    TYPES = [("procedure", "QT", "Quy trình"), ("instruction", "HD", "Hướng dẫn"),
             ("form", "BM", "Biểu mẫu"), ("external", "TLBN", "Văn bản")]

    def __init__(self, seed: int, documents: int):
        self.rng = random.Random(seed)
        self.documents = documents
        words = VOCAB + _syllables(self.rng, 3_000)
        # Zipf-like: the agency words are the common ones, the made-up syllables the tail.
        # Exponent 1.1: ~540 distinct words in 8 KB, as in the agencies' procedures.
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(words))]
        self.sentences = [" ".join(self.rng.choices(words, weights, k=self.rng.randint(8, 18)))
                          for _ in range(3_000)]
        self.codes = [self.code(i) for i in range(documents)]

    def code(self, i: int) -> str:
        _type, prefix, _noun = self.TYPES[i % 4]
        return f"BM-{i // 100:02d}-{i % 100:02d}" if prefix == "BM" else f"{prefix}-{i:05d}"

    def text(self) -> str:
        parts, size = [], 0
        while size < 8_000:
            sentence = self.rng.choice(self.sentences)
            if self.rng.random() < 0.02:
                sentence += f" theo biểu mẫu {self.rng.choice(self.codes)}"
            parts.append(sentence[0].upper() + sentence[1:] + ".")
            size += len(parts[-1]) + 1
        return "\n".join(" ".join(parts[i:i + 6]) for i in range(0, len(parts), 6))

    def batches(self, size: int):
        """Yield lists of document specs: (number, code, type, title, meta, dept, texts)."""
        for start in range(0, self.documents, size):
            batch = []
            for i in range(start, min(start + size, self.documents)):
                doc_type, _prefix, noun = self.TYPES[i % 4]
                title = f"{noun} {' '.join(self.rng.choices(VOCAB, k=self.rng.randint(3, 7)))}"
                texts = [self.text() for _ in range(2 if i % 10 == 0 else 1)]
                batch.append(_Spec(i, self.codes[i], doc_type, title, noun, 1 + i % 3, texts))
            yield batch

    def insert(self, db, author: int, approver: int, batch) -> list:
        """Store a batch as documents with effective (and some superseded) revisions."""
        at = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
        db.session.execute(insert(Document), [
            {"code": d.code, "slug": code_slug(d.code), "doc_type": d.doc_type,
             "title": d.title, "department_id": d.dept, "review_months": 12,
             "status": "effective", "created_by_id": author, "created_at": at, "version": 1,
             "external_source": "Chính phủ" if d.doc_type == "external" else None}
            for d in batch])
        ids = dict(db.session.execute(select(Document.code, Document.id).where(
            Document.code.in_([d.code for d in batch]))).all())
        rows = []
        for d in batch:
            for number, text in enumerate(d.texts, 1):
                current = number == len(d.texts)
                rows.append({
                    "document_id": ids[d.code], "number": number,
                    "status": "effective" if current else "superseded", "reason": "",
                    "filename": f"{d.number}.docx", "size": len(text),
                    "sha256": hashlib.sha256(text.encode()).hexdigest(), "text": text,
                    "author_id": author, "created_at": at, "approver_id": approver,
                    "review_round": 1, "approved_at": at, "effective_date": date(2025, 1, 2),
                    "effective_at": at, "commit_sha": "0" * 40, "tag": f"{d.number}/r{number}"})
        db.session.execute(insert(Revision), rows)
        db.session.commit()
        return list(db.session.scalars(select(Revision).where(
            Revision.document_id.in_(list(ids.values()))).options(
            selectinload(Revision.document).selectinload(Document.department))))

    def queries(self, kind: str, n: int) -> list[str]:
        """Return n queries of a kind, drawn from the corpus' own words and codes."""
        out = []
        while len(out) < n:
            words = self.rng.choice(self.sentences).split()
            at = self.rng.randrange(max(1, len(words) - 3))
            if kind == "one-word":
                out.append(self.rng.choice(words))
            elif kind == "two-word":
                out.append(" ".join(words[at:at + 2]))
            elif kind == "phrase":
                out.append('"' + " ".join(words[at:at + 3]) + '"')
            elif kind == "prefix":
                word = fold(self.rng.choice([w for w in VOCAB if len(w) >= 3]))
                out.append(word[:max(3, len(word) - 1)] + "*")
            elif kind == "unaccented":
                out.append(fold(" ".join(words[at:at + 2])))
            else:
                code = self.rng.choice(self.codes)
                spellings = [code, code.replace("-", "."), code.replace("-", " ").lower(),
                             code.replace("-", "").lower()]
                out.append(self.rng.choice(spellings))
        return out


class _Spec:
    __slots__ = ("number", "code", "doc_type", "title", "meta", "dept", "texts")

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


def fts_query(kind: str, q: str) -> str:
    """Return our query in FTS5 syntax (each word quoted; đ folded by hand)."""
    from docctl.search.analysis import words

    tokens = [_fold_d(w) for w in words(q)]
    if kind == "phrase" or kind == "code":
        return '"' + " ".join(tokens) + '"'
    if kind == "prefix":
        return f'"{tokens[0]}" *'
    return " ".join(f'"{t}"' for t in tokens)


class Fts:
    """SQLite FTS5 over the same corpus, engine only."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE VIRTUAL TABLE fts USING fts5(code, title, meta, body, "
                        "tokenize = 'unicode61 remove_diacritics 2')")
        self.seconds, self.count = 0.0, 0

    def add(self, batch) -> None:
        t0 = perf_counter()
        self.db.executemany("INSERT INTO fts(rowid, code, title, meta, body) "
                            "VALUES (?, ?, ?, ?, ?)",
                            [(d.number + 1, _fold_d(d.code), _fold_d(d.title),
                              _fold_d(d.meta), _fold_d(d.texts[-1])) for d in batch])
        self.db.commit()
        self.seconds += perf_counter() - t0
        self.count += len(batch)

    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def time_queries(self, queries: list[str]) -> dict:
        samples = []
        for _ in range(REPEATS):
            for q in queries:
                t0 = perf_counter()
                self.db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (q,)).fetchone()
                self.db.execute("SELECT rowid, snippet(fts, 3, '[', ']', '…', 24) FROM fts "
                                "WHERE fts MATCH ? ORDER BY rank LIMIT 20", (q,)).fetchall()
                samples.append((perf_counter() - t0) * 1000)
        return summary(samples)

    def close(self) -> None:
        self.db.close()


def _fold_d(text: str) -> str:
    # unicode61 drops diacritics but đ/Đ are letters of their own: fold them by hand.
    return text.replace("đ", "d").replace("Đ", "D")
