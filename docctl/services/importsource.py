"""Where an import's files come from: a folder on the server or an uploaded .zip, checked."""

from __future__ import annotations

import io
import os
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from docctl.errors import TooLarge, UnsupportedFile, ValidationError

MAX_ENTRIES = 10_000
MAX_TOTAL = 1024 * 1024 * 1024        # 1 GiB unpacked: a few hundred office files fit
MAX_FILE = 100 * 1024 * 1024          # read_upload applies the per-format limit after this
MAX_RATIO = 100                       # unpacked/packed, for entries over RATIO_MIN
RATIO_MIN = 1024 * 1024
_NESTED = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz")
# Left by Word, Windows and macOS beside real files: never the agency's documents.
_LITTER = {"thumbs.db", ".ds_store", "desktop.ini", "__macosx"}


@dataclass
class Source:
    """The files of an import, by their path inside the folder or zip (forward slashes)."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)


def is_litter(path: str) -> bool:
    """Tell whether a path is a lock file, system file or hidden file (skipped silently)."""
    for part in path.split("/"):
        lowered = part.lower()
        if lowered in _LITTER or part.startswith((".", "~$")):
            return True
    return False


def _clean_path(name: str) -> str:
    return unicodedata.normalize("NFC", name.replace("\\", "/")).strip("/")


def _refuse_name(name: str) -> None:
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsupportedFile(_l("The zip holds an absolute path (%(name)s): refused",
                                 name=name[:200]), reason="zip_absolute")
    if any(part == ".." for part in raw.split("/")):
        raise UnsupportedFile(_l("The zip holds a path leading out of it (%(name)s): refused",
                                 name=name[:200]), reason="zip_traversal")
    if raw.lower().endswith(_NESTED):
        raise UnsupportedFile(_l("The zip holds another archive (%(name)s): unpack it first",
                                 name=name[:200]), reason="zip_nested")


def from_zip(name: str, data: bytes) -> Source:
    """Read an uploaded .zip in memory, refusing hostile archives before reading any file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsupportedFile(_l("The upload is not a readable .zip file"),
                              reason="not_zip") from None
    with archive:
        infos = archive.infolist()
        if len(infos) >= MAX_ENTRIES:
            raise UnsupportedFile(_l("The zip holds %(n)s entries; at most %(max)s are "
                                     "accepted", n=len(infos), max=MAX_ENTRIES - 1),
                                  reason="zip_entries")
        total = 0
        for info in infos:
            _refuse_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsupportedFile(_l("The zip holds a link (%(name)s): refused",
                                         name=info.filename[:200]), reason="zip_link")
            if info.flag_bits & 0x1:
                raise UnsupportedFile(_l("The zip is password-protected"),
                                      reason="zip_encrypted")
            total += info.file_size
            if info.file_size > RATIO_MIN and \
                    info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UnsupportedFile(_l("The zip holds a file that unpacks far beyond its "
                                         "size (%(name)s): refused", name=info.filename[:200]),
                                      reason="zip_ratio")
        if total > MAX_TOTAL:
            raise TooLarge(_l("The zip unpacks to more than %(mb)s MB",
                              mb=MAX_TOTAL // (1024 * 1024)), reason="zip_total",
                           size=total, limit=MAX_TOTAL)
        source = Source(name=name)
        for info in infos:
            path = _clean_path(info.filename)
            if info.is_dir() or not path or is_litter(path):
                continue
            with archive.open(info) as member:
                # The header's size may lie: never read more than the limit allows.
                content = member.read(MAX_FILE + 1)
            if len(content) > MAX_FILE:
                raise TooLarge(_l("A file in the zip is too large (%(name)s)",
                                  name=path[:200]), reason="zip_member", size=len(content),
                               limit=MAX_FILE)
            source.files[path] = content
    return source


def from_folder(path: str) -> Source:
    """Read the files under a folder (links and hidden files are not followed or read)."""
    if not os.path.isdir(path):
        raise ValidationError(_l("No such folder: %(path)s", path=path))
    source = Source(name=os.path.basename(os.path.abspath(path)))
    total, count = 0, 0
    for folder, dirs, names in os.walk(path, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not is_litter(d))
        for file_name in sorted(names):
            full = os.path.join(folder, file_name)
            relative = _clean_path(os.path.relpath(full, path))
            if is_litter(relative) or os.path.islink(full) or not os.path.isfile(full):
                continue
            count += 1
            total += os.path.getsize(full)
            if count >= MAX_ENTRIES or total > MAX_TOTAL:
                raise TooLarge(_l("The folder holds too many or too large files"),
                               reason="folder_total", size=total, limit=MAX_TOTAL)
            with open(full, "rb") as handle:
                content = handle.read(MAX_FILE + 1)
            if len(content) > MAX_FILE:
                raise TooLarge(_l("A file in the folder is too large (%(name)s)",
                                  name=relative[:200]), reason="folder_member",
                               size=len(content), limit=MAX_FILE)
            source.files[relative] = content
    return source
