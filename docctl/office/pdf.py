"""Render .docx copies as PDF with a headless LibreOffice, when one is installed."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from docctl.errors import DocctlError

__all__ = ["RenditionFailed", "RenditionUnavailable", "available", "find_soffice", "to_pdf"]

DEFAULT_TIMEOUT = 60.0


class RenditionUnavailable(DocctlError):
    """PDF copies are not available on this server; download the Word copy instead."""

    status = 503
    code = "rendition_unavailable"


class RenditionFailed(RenditionUnavailable):
    """The PDF copy could not be made; download the Word copy instead."""

    code = "rendition_failed"


def find_soffice(explicit: str | None = None) -> str | None:
    """Return the path of the LibreOffice command, or None."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def available(explicit: str | None = None) -> bool:
    """Tell whether PDF renditions can be made here."""
    return find_soffice(explicit) is not None


def _kill(proc: subprocess.Popen) -> None:
    """Kill the whole process group: soffice forks soffice.bin, which outlives its parent."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _convert(soffice: str, source: Path, outdir: Path, profile: Path, timeout: float) -> None:
    # A private profile: two instances sharing one profile block each other or fail quietly.
    command = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               "--convert-to", "pdf", "--outdir", str(outdir), str(source)]
    proc = subprocess.Popen(command, cwd=outdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "HOME": str(outdir)})
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise RenditionFailed(f"LibreOffice took longer than {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RenditionFailed("LibreOffice could not convert the document",
                              output=output.decode(errors="replace")[-500:])


def to_pdf(data: bytes, *, soffice: str | None = None, profile_dir: str | None = None,
           timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Convert .docx bytes to PDF bytes; raise RenditionUnavailable if that cannot be done."""
    command = find_soffice(soffice)
    if command is None:
        raise RenditionUnavailable("PDF copies need LibreOffice (soffice), which is not "
                                   "installed on this server; download the Word copy instead")
    with tempfile.TemporaryDirectory(prefix="docctl-pdf-") as tmp:
        work = Path(tmp)
        source = work / "copy.docx"
        source.write_bytes(data)
        deadline = time.monotonic() + timeout
        if profile_dir:
            # A kept profile saves LibreOffice's ~2 s first-start; one conversion at a time.
            profile = Path(profile_dir)
            profile.parent.mkdir(parents=True, exist_ok=True)
            with open(f"{profile}.lock", "a+") as lock:
                _lock(lock, deadline)
                _convert(command, source, work, profile, max(deadline - time.monotonic(), 1))
        else:
            _convert(command, source, work, work / "profile", timeout)
        result = work / "copy.pdf"
        if not result.exists() or result.stat().st_size == 0:
            raise RenditionFailed("LibreOffice produced no PDF")
        return result.read_bytes()


def _lock(handle, deadline: float) -> None:
    """Take an exclusive lock on handle, waiting until deadline at most."""
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise RenditionFailed("Another PDF conversion is taking too long") from None
            time.sleep(0.05)
