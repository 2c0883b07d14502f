"""The atomic writer: writes through symlinks, refuses FIFOs/sockets/devices, ``-`` is standard output."""

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from ferkit.errors import OutputError
from ferkit.io_utils import atomic_write, open_output, write_json, write_text


def test_symlink_is_written_through_keeping_link_and_mode(tmp_path):
    real = tmp_path / "data" / "real.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_json(link, {"a": 1})
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link is still a link ...
    assert json.loads(real.read_text()) == {"a": 1}  # ... and its target has the new content
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in real.parent.iterdir()] == ["real.json"]  # no temporary left behind


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "target.csv")
    write_text(link, "x\n")
    assert link.is_symlink() and (tmp_path / "target.csv").read_text() == "x\n"


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="FIFO"):
        write_json(fifo, {})
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file


def test_socket_is_refused(tmp_path):
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(OutputError, match="socket"):
            write_text(path, "x")
    assert stat.S_ISSOCK(path.stat().st_mode)


def test_device_is_refused_and_left_alone(tmp_path):
    # Never aim a write at a real /dev node here: a regression would replace it for the whole machine.
    # A link to one (a regression replaces only the link) and, as root, a private node in tmp_path.
    link = tmp_path / "out.json"
    link.symlink_to(os.devnull)
    with pytest.raises(OutputError, match="character device"):
        write_json(link, {})
    assert link.is_symlink() and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    if os.geteuid() == 0:
        node = tmp_path / "full"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # a second /dev/full
        with pytest.raises(OutputError, match="character device"):
            write_json(node, {})
        assert stat.S_ISCHR(node.stat().st_mode)


def test_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="folder"):
        write_json(tmp_path, {})


def test_dash_is_standard_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert write_json("-", {"b": 2}) is None
    assert json.loads(capsys.readouterr().out) == {"b": 2}
    with open_output("-") as f:
        f.write("line\n")
    assert capsys.readouterr().out == "line\n"
    assert not Path("-").exists()


def test_open_output_is_atomic(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with open_output(target) as f:
            f.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    with open_output(target) as f:
        f.write("new\n")
    assert target.read_text() == "new\n"


def test_open_output_direct_mode_is_readable_while_it_grows(tmp_path):
    target = tmp_path / "live.jsonl"
    with open_output(target, atomic=False) as f:
        f.write("1\n")
        f.flush()
        assert target.read_text() == "1\n"


def test_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")

    def fail(tmp):
        Path(tmp).write_text("partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1
