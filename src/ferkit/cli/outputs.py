"""Output targets of ``ferkit predict``: checked before any work starts (so a bad path costs no analysis),
and one distinct annotated file per input (so no two inputs share an output, and no output replaces an input)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from ferkit.errors import OutputError
from ferkit.io_utils import is_stdout, resolve_target

log = logging.getLogger(__name__)
IMAGE_OUTPUT_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")  # what cv2.imencode writes; others -> .png


def _key(path: Path) -> str:
    """Comparison key of a path: absolute, and case-folded because macOS/Windows file systems ignore case."""
    return os.path.normcase(os.path.abspath(path)).casefold()


def check_writable_folder(folder: Path, what: str) -> None:
    """Raise OutputError unless ``folder`` exists as a writable folder or can be created (its nearest existing
    ancestor is a writable folder). Checked by creating a probe file: permission bits do not tell a read-only
    file system, ACLs or root squashing apart."""
    existing = Path(os.path.abspath(folder))
    while not existing.exists():
        if existing.is_symlink():
            raise OutputError(f"{what}: {existing} is a broken symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{what}: {existing} is a file, so no folder can be made there")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".ferkit-probe-")
    except OSError as e:
        raise OutputError(f"{what}: cannot write in {existing} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(probe)


def check_file_target(path: str, flag: str) -> None:
    """A ``--json``/``--csv``/``--jsonl`` FILE: ``-`` (standard output), or a regular file, new or existing
    (symlinks are written through), in a folder that can be written."""
    if is_stdout(path):
        return
    p = Path(path)
    if path.endswith(("/", os.sep)) or p.is_dir():
        raise OutputError(f"{flag} {path}: is a folder; give a file name (or - for standard output)")
    try:
        target = resolve_target(p)
    except OutputError as e:
        raise OutputError(f"{flag} {e}") from None
    check_writable_folder(target.parent, f"{flag} {path}")


def check_folder_target(path: str, flag: str = "--output") -> None:
    """An ``--output`` FOLDER: an existing folder or one that can be created; never an existing file."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{flag} {path}: is a file; give a folder for the annotated images and videos")
    check_writable_folder(p, f"{flag} {path}")


def check_targets(files: dict[str, str | None], folder: str | None = None) -> None:
    """Validate every output target of a run before any work: ``files`` maps a flag to its FILE (None: not
    given). Two flags naming the same file, or more than one writing to standard output, is a usage error."""
    given = {flag: path for flag, path in files.items() if path}
    if folder:
        check_folder_target(folder)
    to_stdout = [flag for flag, path in given.items() if is_stdout(path)]
    if len(to_stdout) > 1:
        raise OutputError(f"{' and '.join(to_stdout)} both write to standard output (-); send one to a file")
    seen: dict[str, str] = {}
    for flag, path in given.items():
        check_file_target(path, flag)
        if is_stdout(path):
            continue
        key = _key(resolve_target(path))
        if key in seen:
            raise OutputError(f"{seen[key]} and {flag} name the same file {path}")
        seen[key] = flag


def check_not_inputs(files: dict[str, str | None], inputs: list[Path]) -> None:
    """A report FILE must not replace one of the inputs (``--json photo.jpg``)."""
    keys = {_key(path) for path in inputs}
    for flag, path in files.items():
        if path and not is_stdout(path) and _key(resolve_target(path)) in keys:
            raise OutputError(f"{flag} {path}: is one of the inputs; give another file name")


def annotated_suffix(source: Path, video: bool) -> str:
    if video:
        return ".mp4"
    suffix = source.suffix.lower()
    return suffix if suffix in IMAGE_OUTPUT_SUFFIXES else ".png"


def annotated_targets(
    out_dir: Path, inputs: list[tuple[Path, Path, bool]], reserved: list[str | os.PathLike] = ()
) -> list[Path]:
    """The annotated output of each (input file, path relative to its root, is video): ``out_dir/<rel
    folder>/<stem>_annotated<suffix>``, keeping the inputs' relative paths. Where two inputs would share a
    name (``a/x.jpg`` and ``b/x.jpg``, ``x.avi`` and ``x.mp4``, names differing only in case) or an output
    would replace an input or a ``reserved`` file, the later one gets ``_2``, ``_3``... before ``_annotated``."""
    taken = {_key(path) for path, _, _ in inputs} | {_key(Path(p)) for p in reserved if not is_stdout(p)}
    out = []
    for _path, rel, video in inputs:
        suffix = annotated_suffix(rel, video)
        candidate, n = out_dir / rel.parent / f"{rel.stem}_annotated{suffix}", 2
        while _key(candidate) in taken:
            candidate, n = out_dir / rel.parent / f"{rel.stem}_{n}_annotated{suffix}", n + 1
        taken.add(_key(candidate))
        out.append(candidate)
    return out
