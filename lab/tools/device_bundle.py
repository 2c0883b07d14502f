"""Get the training data onto the device machine when it does not fit beside the working tree in one call.

    python lab/tools/device_bundle.py stage --data "$FERKIT_DATA" --out .zoo_data     # here: parts sized to fit
    python lab/tools/device_bundle.py receive --out .zoo_data --stash runs/.zoo_stash  # there, in each call
    python lab/tools/device_bundle.py assemble --stash runs/.zoo_stash --dest .zoo_bundle  # there, once all arrived

The device tool sends the whole working tree (tracked files plus untracked files git does not ignore) and the
carried paths, 64 MiB in all per call. The tree alone holds about 46 MB (shipped and pinned weights), and the
compact FER2013 bundle with the FERPlus votes is about 50 MB, so the data goes in parts: ``stage`` packs the
files the zoo needs into one tar, splits it into parts that each fit beside the current tree (``--budget-mib``,
default 64, minus the tree, minus a margin), and writes ``MANIFEST`` (the tar's SHA-256, its size, the part
names). Each device call carries one part and the manifest; ``receive`` moves whatever part arrived into the
stash, an ignored folder that stays on the machine between calls while it is held; ``assemble`` checks that every
part is there, joins them, verifies the SHA-256 and unpacks. A missing or damaged part is a one-line error naming
it. The machine goes back when idle (about 30 s), which empties the stash: issue the calls back to back.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20
LIMIT_MIB = 64  # the device tool's cap on what travels per call
MARGIN_BYTES = 2 * MIB  # room for files that change between staging and the calls (logs, notes)
# what the zoo reads: the compact FER2013 bundle (Training + PublicTest, lossless) and the FERPlus votes
FILES = [
    "fer2013/compact/pixels.med.xz",
    "fer2013/compact/emotion.npy",
    "fer2013/compact/usage.npy",
    "fer2013/compact/unpack.py",
    "ferplus/fer2013new.csv",
]


class BundleError(RuntimeError):
    pass


def tree_bytes(root: Path = ROOT) -> int:
    """Bytes of what the device tool sends besides the carried paths: tracked + untracked-not-ignored files."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout
    total = 0
    for name in set(filter(None, out.decode().split("\0"))):
        path = root / name
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def stage(data: Path, out: Path, part_bytes: int) -> dict:
    """Write out/MANIFEST and out/partNN (each <= part_bytes) from the data root's FILES."""
    missing = [f for f in FILES if not (data / f).is_file()]
    if missing:
        raise BundleError(f"{data}: missing {', '.join(missing)} (is it the shared data folder?)")
    if part_bytes < MIB:
        raise BundleError(
            f"only {part_bytes / MIB:.1f} MiB per call are left beside the working tree: shrink the "
            "tree (untracked files?) or raise --budget-mib"
        )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:  # the big file is xz already: no second compression
        for name in FILES:
            tar.add(data / name, arcname=name)
    blob = buf.getvalue()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    parts = []
    for k, start in enumerate(range(0, len(blob), part_bytes)):
        name = f"part{k:02d}"
        (out / name).write_bytes(blob[start : start + part_bytes])
        parts.append(name)
    manifest = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob), "parts": parts, "files": FILES}
    (out / "MANIFEST").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def receive(out: Path, stash: Path) -> tuple[list[str], list[str]]:
    """Move the carried parts (and the manifest) from out/ into the stash; return (present, missing) part names."""
    manifest_path = out / "MANIFEST"
    stash.mkdir(parents=True, exist_ok=True)
    if manifest_path.is_file():
        carried = json.loads(manifest_path.read_text())
        if (stash / "MANIFEST").is_file() and json.loads((stash / "MANIFEST").read_text())["sha256"] != carried[
            "sha256"
        ]:
            for stale in stash.glob("part*"):  # parts of an earlier staging: never joined with the new ones
                stale.unlink()
        shutil.copyfile(manifest_path, stash / "MANIFEST")
    if not (stash / "MANIFEST").is_file():
        raise BundleError(
            f"no MANIFEST in {out} or {stash}: carry it with every part "
            "(lab/tools/device_bundle.py stage prints the calls)"
        )
    manifest = json.loads((stash / "MANIFEST").read_text())
    for name in manifest["parts"]:
        if (out / name).is_file():
            shutil.move(out / name, stash / name)
    present = [n for n in manifest["parts"] if (stash / n).is_file()]
    return present, [n for n in manifest["parts"] if n not in present]


def assemble(stash: Path, dest: Path) -> dict:
    """Join the stashed parts, check the SHA-256 and unpack into dest (atomically: dest appears complete or not)."""
    if not (stash / "MANIFEST").is_file():
        raise BundleError(f"no MANIFEST in {stash}: run `receive` in each call first")
    manifest = json.loads((stash / "MANIFEST").read_text())
    missing = [n for n in manifest["parts"] if not (stash / n).is_file()]
    if missing:
        raise BundleError(
            f"{stash}: parts {', '.join(missing)} of {len(manifest['parts'])} have not arrived "
            "(carry each in its own call; the machine may have gone back and emptied the stash)"
        )
    blob = b"".join((stash / n).read_bytes() for n in manifest["parts"])
    if len(blob) != manifest["bytes"] or hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
        raise BundleError(
            f"{stash}: the joined parts do not match the manifest's SHA-256 (a damaged or stale part: "
            "stage again and resend every part)"
        )
    tmp = dest.with_name(dest.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
        tar.extractall(tmp, filter="data")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stage", help="here: split the data into parts that fit beside the working tree")
    s.add_argument("--data", default=os.environ.get("FERKIT_DATA"), help="data root (default $FERKIT_DATA)")
    s.add_argument("--out", default=".zoo_data")
    s.add_argument("--budget-mib", type=float, default=LIMIT_MIB, help="what may travel per call, in MiB")
    r = sub.add_parser("receive", help="there: move the carried part into the stash")
    r.add_argument("--out", default=".zoo_data")
    r.add_argument("--stash", default="runs/.zoo_stash")
    a = sub.add_parser("assemble", help="there: join, verify and unpack the stashed parts")
    a.add_argument("--stash", default="runs/.zoo_stash")
    a.add_argument("--dest", default=".zoo_bundle")
    args = p.parse_args(argv)
    try:
        if args.command == "stage":
            if not args.data:
                raise BundleError("no data root: pass --data or set FERKIT_DATA")
            out = Path(args.out)
            tree = tree_bytes()
            part = int(args.budget_mib * MIB) - tree - MARGIN_BYTES
            m = stage(Path(args.data), out, part)
            print(
                f"working tree {tree / MIB:.1f} MiB; data {m['bytes'] / MIB:.1f} MiB in {len(m['parts'])} "
                f"part(s) of <= {part / MIB:.1f} MiB under {out}/ (SHA-256 {m['sha256'][:16]}...)"
            )
            print("device calls, back to back (the machine goes back after about 30 s idle):")
            for k, name in enumerate(m["parts"]):
                last = k == len(m["parts"]) - 1
                cmd = "bash lab/gpu_zoo.sh MINUTES PARALLEL" if last else "bash lab/gpu_zoo.sh --receive"
                print(f'  carry [".zoo_data/{name}", ".zoo_data/MANIFEST"]: {cmd}')
        elif args.command == "receive":
            present, missing = receive(Path(args.out), Path(args.stash))
            print(
                f"device_bundle: {len(present)} part(s) here ({' '.join(present) or 'none'}); "
                f"missing: {' '.join(missing) or 'none'}"
            )
        else:
            m = assemble(Path(args.stash), Path(args.dest))
            print(f"device_bundle: {len(m['parts'])} part(s) joined, SHA-256 verified, unpacked into {args.dest}")
    except (BundleError, OSError, tarfile.TarError) as e:
        print(f"device_bundle: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
