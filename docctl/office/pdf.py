"""Run a headless LibreOffice, offline and time-limited: .docx copies as PDF (and legacy.py's
.doc → .docx conversions, through the same runner)."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docctl.errors import DocctlError
from docctl.office.offline import strip_external

__all__ = ["RenditionBusy", "RenditionFailed", "RenditionTimeout", "RenditionUnavailable",
           "available", "convert", "find_soffice", "kill_active", "sandbox", "to_pdf"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 25.0
_PR_SET_PDEATHSIG = 1
# Process groups of the conversions this process runs now (one per request at most).
_active: set[int] = set()
_sandbox: tuple[str, ...] | None = None
# Work folders are named after the worker's pid, so a dead worker's folder can be told apart.
_WORK_PREFIX = "docctl-pdf-"


class RenditionUnavailable(DocctlError):
    """PDF copies are not available on this server; download the Word copy instead."""

    status = 503
    code = "rendition_unavailable"


class RenditionFailed(RenditionUnavailable):
    """The PDF copy could not be made; download the Word copy instead."""

    code = "rendition_failed"


class RenditionBusy(RenditionUnavailable):
    """Other PDF copies are being made; try again in a moment."""

    code = "rendition_busy"


class RenditionTimeout(RenditionFailed):
    """The PDF copy took longer than allowed and was stopped."""

    status = 504
    code = "rendition_timeout"


def find_soffice(explicit: str | None = None) -> str | None:
    """Return the path of the LibreOffice command, or None."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def available(explicit: str | None = None) -> bool:
    """Tell whether PDF renditions can be made here."""
    return find_soffice(explicit) is not None


# Tried in order: no network and a PID namespace whose processes the kernel kills together
# when its first process dies; then no network alone; then nothing (the system forbids it).
_CANDIDATES = (
    ("--map-root-user", "--net", "--pid", "--fork", "--kill-child"),
    ("--net", "--pid", "--fork", "--kill-child"),
    ("--map-root-user", "--net"),
    ("--net",),
)


def sandbox() -> tuple[str, ...]:
    """Return the command prefix that cuts a conversion off the network ('()' if none works)."""
    global _sandbox
    if _sandbox is None:
        _sandbox = ()
        unshare = shutil.which("unshare")
        for flags in _CANDIDATES if unshare else ():
            try:
                done = subprocess.run([unshare, *flags, "true"], stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=10, check=False)
            except (OSError, subprocess.SubprocessError):
                continue
            if done.returncode == 0:
                _sandbox = (unshare, *flags)
                break
        log.info("PDF conversions run %s", " ".join(_sandbox) or "without a network sandbox")
    return _sandbox


def _prctl():
    """Return libc's prctl, resolved in the parent: the forked child only calls it."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):   # not Linux: the process group kill still applies
        return None


def _reaper() -> list[str]:
    """Return the wrapper that kills soffice's whole group with its worker, if one is needed."""
    if "--pid" in sandbox():
        return []   # the PID namespace dies with its first process, which dies with the worker
    # soffice's death signal would reach oosplash only, not the soffice.bin it starts.
    return [sys.executable, "-I", "-S", str(Path(__file__).with_name("reaper.py")),
            str(os.getpid())]


def _die_with_parent(parent: int):
    """Return a pre-exec hook: the child gets SIGKILL when the worker that started it dies."""
    prctl = _prctl()

    def hook() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:   # the worker died before the hook ran
            os._exit(1)
    return hook


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_active() -> None:
    """Kill every conversion this process runs (called when a worker is stopped or aborted)."""
    for pgid in list(_active):
        _kill_group(pgid)


def _convert(soffice: str, source: Path, outdir: Path, profile: Path, timeout: float,
             target: str) -> None:
    # A private profile: two instances sharing one profile block each other or fail quietly.
    command = [*sandbox(), *_reaper(), soffice,
               f"-env:UserInstallation={profile.resolve().as_uri()}",
               "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               "--convert-to", target, "--outdir", str(outdir), str(source)]
    # Its own session, so soffice, oosplash and soffice.bin share one group that is killed
    # together; and it dies with this worker even if the worker is killed outright.
    proc = subprocess.Popen(command, cwd=outdir, stdin=subprocess.DEVNULL,  # noqa: PLW1509
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=_die_with_parent(os.getpid()),
                            env={**os.environ, "HOME": str(outdir)})
    _active.add(proc.pid)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except BaseException as exc:   # the limit, or this worker being stopped meanwhile
        # Not reaped yet, so its pid (the group id) cannot have been reused.
        _kill_group(proc.pid)
        _active.discard(proc.pid)
        proc.wait()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise RenditionTimeout(f"LibreOffice took longer than {timeout:.0f} s") from None
        raise
    _active.discard(proc.pid)
    if proc.returncode != 0:
        raise RenditionFailed("LibreOffice could not convert the document",
                              output=output.decode(errors="replace")[-500:])


def to_pdf(data: bytes, *, soffice: str | None = None, profile_dir: str | None = None,
           timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Convert .docx bytes to PDF bytes, offline; raise RenditionUnavailable if it cannot be."""
    command = find_soffice(soffice)
    if command is None:
        raise RenditionUnavailable("PDF copies need LibreOffice (soffice), which is not "
                                   "installed on this server; download the Word copy instead")
    # LibreOffice fetches linked images and templates by itself: it only ever sees a package
    # with no reference outside it.
    try:
        data = strip_external(data)
    except DocctlError as exc:
        raise RenditionFailed("The package could not be read to make it offline",
                              reason=exc.details.get("reason")) from exc
    return convert(data, suffix="docx", target="pdf", soffice=command,
                   profile_dir=profile_dir, timeout=timeout)


def convert(data: bytes, *, suffix: str, target: str, soffice: str,
            profile_dir: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Convert bytes (a file ending in suffix) with LibreOffice's filter target; return them.

    Raises RenditionTimeout past timeout (the whole process group is killed), RenditionBusy
    when a kept profile stays locked, RenditionFailed when nothing usable comes out.
    """
    deadline = time.monotonic() + timeout
    _sweep(Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=f"{_WORK_PREFIX}{os.getpid()}-") as tmp:
        work = Path(tmp)
        # Fixed names: no user text reaches the command line or the file system.
        source = work / f"copy.{suffix}"
        source.write_bytes(data)
        if profile_dir:
            # A kept profile saves LibreOffice's ~2 s first-start; one conversion at a time.
            profile = Path(profile_dir)
            profile.parent.mkdir(parents=True, exist_ok=True)
            with open(f"{profile}.lock", "a+") as lock:
                _lock(lock, deadline)
                _convert(soffice, source, work, profile, max(deadline - time.monotonic(), 1),
                         target)
        else:
            _convert(soffice, source, work, work / "profile", timeout, target)
        # "docx:MS Word 2007 XML" names a filter; the file gets the part before the colon.
        result = work / f"copy.{target.partition(':')[0]}"
        if not result.exists() or result.stat().st_size == 0:
            raise RenditionFailed(f"LibreOffice produced no {target.partition(':')[0]} file")
        return result.read_bytes()


def _sweep(folder: Path) -> None:
    """Remove the work folders of conversions whose worker was killed outright."""
    for path in folder.glob(f"{_WORK_PREFIX}*-*"):
        pid = path.name[len(_WORK_PREFIX):].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)   # it held a stamped copy: don't leave it
        except PermissionError:
            continue


def _lock(handle, deadline: float) -> None:
    """Take an exclusive lock on handle, waiting until deadline at most."""
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise RenditionBusy("Another PDF conversion is taking too long") from None
            time.sleep(0.05)
