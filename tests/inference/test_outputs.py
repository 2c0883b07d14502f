"""`ferkit predict` outputs: targets checked before any work, write failures (a full disk) cost only that output
and are reported in one line, annotated videos are never left broken, distinct outputs per input, exit status."""

import contextlib
import json
import os
import resource
import shutil
import signal
import stat
from pathlib import Path

import cv2
import pytest

import ferkit.io_utils
from ferkit.cli import cmd_predict
from ferkit.cli.main import main
from ferkit.media import video as video_mod

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the run gets as far as loading a model (the check must come before any work)."""

    def forbidden(args):
        raise AssertionError("work started before the output targets were checked")

    monkeypatch.setattr(cmd_predict, "build_recognizer", forbidden)


def _run(capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


@pytest.mark.parametrize(
    "case",
    [
        "read_only_fs",
        "json_is_folder",
        "output_is_file",
        "csv_is_fifo",
        "unwritable_folder",
        "json_is_input",
        "both_stdout",
    ],
)
def test_bad_targets_fail_before_any_work(case, tmp_path, samples_dir, capsys, no_work):
    photo = str(samples_dir / "images" / "angry.jpg")
    argv = ["predict", photo, "-q"]
    if case == "read_only_fs":
        if not os.path.isdir("/sys/kernel"):
            pytest.skip("needs a read-only /sys")
        argv += ["--json", "/sys/out.json"]
        expect = "/sys"
    elif case == "json_is_folder":
        argv += ["--json", str(tmp_path)]
        expect = "is a folder"
    elif case == "output_is_file":
        (tmp_path / "file").write_text("x")
        argv += ["--output", str(tmp_path / "file")]
        expect = "is a file"
    elif case == "csv_is_fifo":
        os.mkfifo(tmp_path / "pipe")
        argv += ["--csv", str(tmp_path / "pipe")]
        expect = "FIFO"
    elif case == "unwritable_folder":
        if os.geteuid() == 0:
            pytest.skip("root writes anywhere; the read-only file system case covers root")
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        argv += ["--json", str(locked / "r.json")]
        expect = "cannot write"
    elif case == "json_is_input":
        argv += ["--json", photo, "--output", str(tmp_path / "out")]
        expect = "angry"
    else:
        argv += ["--json", "-", "--csv", "-"]
        expect = "standard output"
    rc, _, err = _run(capsys, argv)
    assert rc == 2, err
    assert expect in err and len(err.strip().splitlines()) == 1, err
    assert Path(photo).stat().st_size > 1000  # the input is untouched


def _dev_full_for(monkeypatch, pattern: str):
    """Writes of temporary files whose name contains ``pattern`` go to /dev/full (a real ENOSPC from the kernel)
    through a symlink in the output folder; every other write is left alone."""
    real = ferkit.io_utils._temp_file

    def temp(folder, name):
        if pattern not in name:
            return real(folder, name)
        link = Path(folder) / f".{name}.full.tmp"
        link.symlink_to("/dev/full")
        return str(link)

    monkeypatch.setattr(ferkit.io_utils, "_temp_file", temp)


@needs_dev_full
def test_full_disk_while_writing_images_keeps_the_rest(model_ref, samples_dir, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("angry.jpg", "neutral.jpeg", "surprised.jpeg"):
        shutil.copy(samples_dir / "images" / name, folder / name)
    _dev_full_for(monkeypatch, "neutral_annotated")
    out = tmp_path / "out"
    rc, _, err = _run(
        capsys,
        ["predict", str(folder), "--model", model_ref, "--output", str(out), "--json", str(tmp_path / "r.json"), "-q"],
    )
    assert rc == 1
    lines = [line for line in err.splitlines() if "neutral_annotated" in line]
    assert lines and "No space left on device" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["angry_annotated.jpg", "surprised_annotated.jpeg"]
    doc = json.loads((tmp_path / "r.json").read_text())
    assert len(doc["images"]) == 3  # every analysis is kept, also the one whose picture could not be written
    assert [e["path"] for e in doc["errors"]] == [str(out / "neutral_annotated.jpeg")]


@contextlib.contextmanager
def _file_size_limit(nbytes: int):
    """Writes past ``nbytes`` in any file fail (EFBIG) as on a disk that has just filled up."""
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


@pytest.mark.parametrize("when", ["at_open", "mid_write"])
def test_full_disk_never_leaves_a_broken_video(when, model_ref, short_clip, tmp_path, capsys, monkeypatch):
    if when == "at_open":  # the container header already fails: /dev/full answers ENOSPC to every write
        if not os.path.exists("/dev/full"):
            pytest.skip("needs /dev/full (Linux)")

        def temp_on_full_disk(self):
            link = self.path.parent / f".{self.path.stem}.full.tmp.mp4"
            link.symlink_to("/dev/full")
            return str(link)

        monkeypatch.setattr(video_mod.VideoWriter, "_temp_path", temp_on_full_disk)
        expect = "cannot open a video writer"
    else:  # the disk fills up after the first frames: later writes and the mp4 index fail
        limit = contextlib.ExitStack()
        real_write, real_close = video_mod.VideoWriter.write, video_mod.VideoWriter.close

        def write(self, rgb):
            if self.frames == 2:
                limit.enter_context(_file_size_limit(self.tmp.stat().st_size + 4096))
            real_write(self, rgb)

        def close(self):
            self.writer.release()  # finish writing under the limit, then read back without it
            limit.close()
            return real_close(self)

        monkeypatch.setattr(video_mod.VideoWriter, "write", write)
        monkeypatch.setattr(video_mod.VideoWriter, "close", close)
        expect = "cannot write the video: the finished file holds 0 of the 12 frames"
    out = tmp_path / "out"
    final = out / "clip_annotated.mp4"
    final.parent.mkdir()
    final.write_bytes(b"previous result")  # an earlier run's output is kept, not replaced by a broken one
    rc, _, err = _run(
        capsys,
        [
            "predict",
            str(short_clip),
            "--model",
            model_ref,
            "--output",
            str(out),
            "-q",
            "--json",
            str(tmp_path / "v.json"),
        ],
    )
    assert rc == 1
    assert f"{final}: {expect}" in err, err
    assert final.read_bytes() == b"previous result" and sorted(p.name for p in out.iterdir()) == [final.name]
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["videos"][0]["frames_analysed"] == 12 and "output" not in doc["videos"][0]


def test_video_writer_refuses_a_missing_codec(tmp_path):
    with pytest.raises(video_mod.OutputError, match="video writer"):
        video_mod.VideoWriter(tmp_path / "x.mp4", 0.0, (0, 0))  # OpenCV cannot open a 0x0 writer
    assert list(tmp_path.iterdir()) == []


def test_same_named_inputs_get_distinct_outputs(model_ref, samples_dir, tmp_path, capsys):
    for sub, name in (("a", "angry.jpg"), ("b", "surprised.jpeg"), ("c", "neutral.jpeg")):
        (tmp_path / sub).mkdir()
        shutil.copy(samples_dir / "images" / name, tmp_path / sub / ("x.jpg" if sub != "c" else "X.JPG"))
    out = tmp_path / "out"
    rc, _, _ = _run(
        capsys,
        [
            "predict",
            str(tmp_path / "a" / "x.jpg"),
            str(tmp_path / "b" / "x.jpg"),
            str(tmp_path / "c" / "X.JPG"),
            "--model",
            model_ref,
            "--output",
            str(out),
            "--json",
            str(tmp_path / "r.json"),
            "-q",
        ],
    )
    assert rc == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    outputs = [Path(item["output"]) for item in doc["images"]]
    assert len({o.name.casefold() for o in outputs}) == 3 and all(o.is_file() for o in outputs)
    a, b = (cv2.imread(str(o)) for o in outputs[:2])
    assert a.shape != b.shape or (a != b).any()  # two different pictures, not one overwritten


def test_folder_inputs_keep_their_relative_paths(model_ref, samples_dir, tmp_path, capsys):
    for sub in ("one", "two"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        shutil.copy(samples_dir / "images" / "angry.jpg", tmp_path / "in" / sub / "face.jpg")
    out = tmp_path / "out"
    assert _run(capsys, ["predict", str(tmp_path / "in"), "--model", model_ref, "--output", str(out), "-q"])[0] == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.jpg")) == [
        "one/face_annotated.jpg",
        "two/face_annotated.jpg",
    ]


def test_exit_status_and_skipped_files(model_ref, samples_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(samples_dir / "images" / "angry.jpg", folder / "good1.jpg")
    shutil.copy(samples_dir / "images" / "neutral.jpeg", folder / "good2.jpeg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("not a picture")
    (folder / "cut.jpg").write_bytes((samples_dir / "images" / "angry.jpg").read_bytes()[:300])
    (folder / "zero.mp4").write_bytes(b"")
    (folder / "notes.txt").write_text("a non-media file")
    rc, out, err = _run(capsys, ["predict", str(folder), "--model", model_ref])
    assert rc == 1  # some inputs failed
    failed = [line for line in err.splitlines() if "FAILED" in line]
    assert sorted(Path(line.split("FAILED ")[1].split(":")[0]).name for line in failed) == [
        "cut.jpg",
        "empty.jpg",
        "text.png",
        "zero.mp4",
    ]
    assert "notes.txt" not in "".join(failed) and "skipped 1 file" in err
    assert f"skipped {folder / 'notes.txt'}" in out and f"FAILED {folder / 'notes.txt'}" not in out
    shutil.rmtree(folder)
    folder.mkdir()
    shutil.copy(samples_dir / "images" / "angry.jpg", folder / "good.jpg")
    (folder / "notes.txt").write_text("skipped files alone do not fail a run")
    assert _run(capsys, ["predict", str(folder), "--model", model_ref, "-q"])[0] == 0
    with pytest.raises(SystemExit) as e:  # a usage error: argparse exits 2
        main(["predict", str(folder), "--every-n-frames", "x"])
    assert e.value.code == 2


def test_json_and_csv_to_standard_output(model_ref, samples_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo = str(samples_dir / "images" / "angry.jpg")
    rc, out, _ = _run(capsys, ["predict", photo, "--model", model_ref, "--json", "-"])
    assert rc == 0 and json.loads(out)["images"][0]["faces"]  # stdout is the JSON alone (no table)
    rc, out, _ = _run(capsys, ["predict", photo, "--model", model_ref, "--csv", "-", "--json", "r.json"])
    assert rc == 0 and out.startswith("path,frame,time") and Path("r.json").is_file()
    rc, out, _ = _run(capsys, ["predict", photo, "--model", model_ref, "--jsonl", "-"])
    assert rc == 0 and json.loads(out.splitlines()[0])["faces"] and len(out.splitlines()) == 1
    assert not Path("-").exists()


def test_json_through_a_symlink(model_ref, samples_dir, tmp_path, capsys):
    real = tmp_path / "results" / "latest.json"
    real.parent.mkdir()
    real.write_text("{}")
    os.chmod(real, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    rc, _, _ = _run(
        capsys, ["predict", str(samples_dir / "images" / "angry.jpg"), "--model", model_ref, "--json", str(link), "-q"]
    )
    assert rc == 0 and link.is_symlink()
    assert json.loads(real.read_text())["images"] and stat.S_IMODE(real.stat().st_mode) == 0o600
