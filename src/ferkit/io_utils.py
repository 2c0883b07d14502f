"""Atomic file writes: a finished result is never half-written, never replaces a link or a device with a
regular file, and ``-`` means standard output."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ferkit.errors import OutputError

log = logging.getLogger(__name__)
STDOUT = "-"
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def is_stdout(path: str | os.PathLike | None) -> bool:
    return path is not None and str(path) == STDOUT


def special_kind(mode: int) -> str | None:
    """'a FIFO (named pipe)', 'a folder', ... for anything that is not a regular file; None for a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None


def resolve_target(path: str | os.PathLike) -> Path:
    """The regular file a write to ``path`` must replace: symlinks are followed (so the link stays a link and its
    target gets the new content). Raises OutputError if that is a folder, FIFO, socket or device."""
    path = Path(path)
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    except OSError as e:
        raise OutputError(f"{path}: cannot write here ({e.strerror or e})") from None
    kind = special_kind(mode)
    if kind is not None:
        hint = "" if kind == "a folder" else "; ferkit writes results to regular files (use - for standard output)"
        shown = f"{path} (-> {real})" if real != path else str(path)
        raise OutputError(f"{shown} is {kind}, not a file{hint}")
    return real


def _temp_file(folder: Path, name: str) -> str:
    """A new empty temporary file next to the target (same file system, so the final rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    return tmp


def _final_mode(target: Path) -> tuple[int, int, int] | None:
    """(mode, uid, gid) of an existing target, kept by the replacement; None for a new file."""
    try:
        st = target.stat()
    except FileNotFoundError:
        return None
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def replace_with(tmp: str | os.PathLike, target: Path) -> None:
    """Give the finished temporary file the target's permissions (or ordinary ones) and rename it over it."""
    kept = _final_mode(target)
    if kept is None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are ordinary files
    else:
        os.chmod(tmp, kept[0])
        if hasattr(os, "chown") and (kept[1], kept[2]) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # only root may give files away; best effort
                os.chown(tmp, kept[1], kept[2])
    os.replace(tmp, target)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call write(tmp_path) then rename tmp over path, so readers see the old or the new file. A symlink is
    written through (its target is replaced, keeping its permissions); folders, FIFOs, sockets and devices are
    refused with OutputError. Returns the file written."""
    target = resolve_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_file(target.parent, target.name)
    try:
        write(tmp)
        replace_with(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return target


@contextlib.contextmanager
def open_output(path: str | os.PathLike, mode: str = "w", atomic: bool = True, **kwargs) -> Iterator[IO]:
    """Open an output target for writing: ``-`` is standard output (left open), anything else a file written
    atomically (``atomic=True``: a temporary file renamed over the target when the block ends without error;
    on error the target is untouched) or directly (``atomic=False``, for streams that must be readable while
    they grow, e.g. JSON lines of a live source). Symlinks are written through; FIFOs, sockets and devices
    are refused. ``mode`` is "w" (text) or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_output mode must be 'w' or 'wb', got {mode!r}")
    if is_stdout(path):
        stream = sys.stdout.buffer if mode == "wb" else sys.stdout
        yield stream
        stream.flush()
        return
    if not atomic:
        target = resolve_target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, mode, **kwargs) as f:
            yield f
        return
    target = resolve_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_file(target.parent, target.name)
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
        replace_with(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_json(path: str | os.PathLike, obj: Any) -> Path | None:
    """``obj`` as indented JSON, atomically; ``-`` writes to standard output (returns None)."""
    with open_output(path) as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    return None if is_stdout(path) else resolve_target(path)


def write_text(path: str | os.PathLike, text: str) -> Path | None:
    """``text`` atomically; ``-`` writes to standard output (returns None)."""
    with open_output(path) as f:
        f.write(text)
    return None if is_stdout(path) else resolve_target(path)


def output_failed(errors: list, target: Path, error: BaseException) -> None:
    """Record a failed output write (the run goes on) and say so in one line."""
    message = write_failure(target, error)
    errors.append({"path": str(target), "error": message})
    log.warning("%s", message)


def write_failure(path: str | os.PathLike, error: BaseException) -> str:
    """One line naming the output and the OS error, e.g. 'out/x.jpg: cannot write (No space left on device)'."""
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
        if error.errno is not None:
            reason = f"[Errno {error.errno}] {reason}"
        return f"{path}: cannot write ({reason})"
    return str(error)
