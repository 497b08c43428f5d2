"""Read an uploaded file: check it, convert what must be, extract its text."""

from dataclasses import dataclass, field

from docctl import office
from docctl.domain.textfold import clean_line
from docctl.services.context import setting


@dataclass(frozen=True)
class Upload:
    """An accepted upload, ready to store as a revision's source."""

    media: str                    # docx, pdf or xlsx: what is stored
    data: bytes                   # the bytes stored (a converted .doc's .docx)
    filename: str                 # cleaned, ending in the stored format's extension
    size: int
    sha256: str
    text: str                     # for search, diff and reading printed metadata
    searchable: bool = True       # False: e.g. a scanned PDF with no text layer
    original: bytes | None = None         # a converted legacy .doc, byte-exact
    original_name: str | None = None
    notices: tuple[str, ...] = field(default_factory=tuple)   # translated, told to the user


def limits() -> dict:
    """Return the hostile-input limits every format is checked against."""
    return {"max_bytes": setting("MAX_UPLOAD_MB") * 1024 * 1024,
            "max_entries": setting("MAX_DOCX_ENTRIES"),
            "max_uncompressed": setting("MAX_DOCX_UNCOMPRESSED_MB") * 1024 * 1024}


def read_upload(doc_type: str, filename: str, data: bytes) -> Upload:
    """Check an uploaded file for a document of doc_type; raise TooLarge/UnsupportedFile."""
    # Interface for issue #10's formats (helper E adds .doc, .pdf, .xlsx).
    info = office.inspect_docx(data, **limits())
    name = clean_line(filename, max_len=200) or "document.docx"
    return Upload(media="docx", data=data, filename=name, size=info.size, sha256=info.sha256,
                  text=info.text)
