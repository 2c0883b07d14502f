"""The inputs of a collection: images and videos named directly or found in folders (recursively)."""

from __future__ import annotations

from pathlib import Path


def collect(paths: list[str]) -> tuple[list[tuple[Path, Path]], list[dict]]:
    """(file, path relative to its root) for every input, and {path, error} for the rest: a missing path
    ("no such file or folder"), or a file in a folder that is no image or video ("skipped: ..."). Folders are
    walked recursively in sorted order, so the same collection always gives the same list."""
    from ferkit.media.sniff import is_image_file, is_video_file

    files, errors = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    if is_image_file(f) or is_video_file(f):
                        files.append((f, f.relative_to(path)))
                    else:
                        errors.append({"path": str(f), "error": "skipped: not an image or video file"})
        elif path.exists():
            files.append((path, Path(path.name)))
        else:
            errors.append({"path": str(path), "error": "no such file or folder"})
    return files, errors
