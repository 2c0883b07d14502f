"""The atomic-write helpers pinned exactly: what counts as standard output, the name of each special file kind,
the messages of refused targets, the temporary file's place and name, the permissions a replacement gets, the
JSON and text written, and the one-line failure messages."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from ferkit import io_utils
from ferkit.errors import OutputError
from ferkit.io_utils import (
    _final_mode,
    _temp_file,
    atomic_write,
    is_stdout,
    open_output,
    output_failed,
    replace_with,
    resolve_target,
    special_kind,
    write_failure,
    write_json,
    write_text,
)


def test_only_a_dash_is_standard_output():
    assert is_stdout("-") and is_stdout(Path("-"))
    assert not is_stdout(None) and not is_stdout("x") and not is_stdout("--") and not is_stdout("./-")


@pytest.mark.parametrize(
    "kind, name",
    [
        (stat.S_IFIFO, "a FIFO (named pipe)"),
        (stat.S_IFSOCK, "a socket"),
        (stat.S_IFCHR, "a character device"),
        (stat.S_IFBLK, "a block device"),
        (stat.S_IFDIR, "a folder"),
        (stat.S_IFREG, None),
        (stat.S_IFLNK, None),
    ],
)
def test_special_kind_names_each_kind(kind, name):
    assert special_kind(kind | 0o644) == name


def test_refusal_messages(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    with pytest.raises(OutputError) as e:
        resolve_target(folder)
    assert str(e.value) == f"{folder} is a folder, not a file"
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    link = tmp_path / "l"
    link.symlink_to(fifo)
    with pytest.raises(OutputError) as e:
        resolve_target(link)
    hint = "; ferkit writes results to regular files (use - for standard output)"
    assert str(e.value) == f"{link} (-> {fifo}) is a FIFO (named pipe), not a file{hint}"
    with pytest.raises(OutputError) as e:
        resolve_target(fifo)
    assert str(e.value) == f"{fifo} is a FIFO (named pipe), not a file{hint}"


def test_a_path_through_a_file_is_refused_with_the_os_reason(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError) as e:
        resolve_target(tmp_path / "f" / "out.json")
    assert str(e.value) == f"{tmp_path / 'f' / 'out.json'}: cannot write here (Not a directory)"


def test_targets_resolve_to_the_file_itself_or_the_link_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_target("rel.txt") == Path("rel.txt")  # not made absolute: only links are followed
    assert resolve_target(tmp_path / "new.txt") == tmp_path / "new.txt"
    (tmp_path / "old.txt").write_text("x")
    assert resolve_target(str(tmp_path / "old.txt")) == tmp_path / "old.txt"
    (tmp_path / "l").symlink_to(tmp_path / "old.txt")
    assert resolve_target(tmp_path / "l") == tmp_path / "old.txt"


def test_temp_file_is_an_empty_hidden_file_beside_the_target(tmp_path):
    tmp = Path(_temp_file(tmp_path, "out.json"))
    assert tmp.parent == tmp_path and tmp.name.startswith(".out.json.") and tmp.name.endswith(".tmp")
    assert tmp.is_file() and tmp.stat().st_size == 0


def test_final_mode_of_a_new_and_an_existing_file(tmp_path):
    assert _final_mode(tmp_path / "none") is None
    f = tmp_path / "f"
    f.write_text("x")
    f.chmod(0o640)
    assert _final_mode(f) == (0o640, os.getuid(), os.getgid())


def test_a_new_file_gets_ordinary_permissions_under_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        tmp = _temp_file(tmp_path, "a")
        replace_with(tmp, tmp_path / "a")
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o644  # read and write, never execute
        assert os.umask(0o022) == 0o022  # the umask is left as it was
    finally:
        os.umask(old)
    assert not os.path.exists(tmp)


def test_a_replacement_keeps_mode_and_gives_the_owner_back_only_when_it_differs(tmp_path, monkeypatch):
    target = tmp_path / "t"
    target.write_text("old")
    target.chmod(0o604)
    calls = []
    monkeypatch.setattr(io_utils.os, "chown", lambda *a: calls.append(a))
    tmp = _temp_file(tmp_path, "t")
    replace_with(tmp, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o604 and calls == []
    uid = os.getuid()
    monkeypatch.setattr(io_utils.os, "getuid", lambda: uid + 1)
    tmp = _temp_file(tmp_path, "t")
    replace_with(tmp, target)
    assert calls == [(tmp, target.stat().st_uid, target.stat().st_gid)]

    refused = []

    def refuse(*a):
        refused.append(a)
        raise PermissionError(errno.EPERM, "Operation not permitted")

    # owner and group checked each for itself: now running as (g, g), the file owned by (g + 7, g)
    gid = os.getgid()
    monkeypatch.setattr(io_utils.os, "chown", lambda *a: calls.append(a))
    monkeypatch.setattr(io_utils.os, "getuid", lambda: gid)
    monkeypatch.setattr(io_utils, "_final_mode", lambda target: (0o604, gid + 7, gid))
    tmp = _temp_file(tmp_path, "t")
    replace_with(tmp, target)
    assert calls[-1] == (tmp, gid + 7, gid)
    monkeypatch.undo()
    monkeypatch.setattr(io_utils.os, "chown", refuse)
    monkeypatch.setattr(io_utils.os, "getuid", lambda: uid + 1)  # someone else's file: the owner is given back
    replace_with(_temp_file(tmp_path, "t"), target)  # best effort: a refused chown is no error
    assert len(refused) == 1 and stat.S_IMODE(target.stat().st_mode) == 0o604


def test_atomic_write_makes_folders_returns_the_file_and_cleans_up(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    seen = []

    def write(tmp):
        seen.append(tmp)
        Path(tmp).write_text("new")

    assert atomic_write(target, write) == target
    assert target.read_text() == "new" and Path(seen[0]).parent == target.parent and not os.path.exists(seen[0])
    assert Path(seen[0]).name.startswith(".out.txt.")

    def fail(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "new" and sorted(os.listdir(target.parent)) == ["out.txt"]


def test_open_output_modes_folders_and_options(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="open_output mode must be 'w' or 'wb', got 'a'"):
        with open_output(tmp_path / "x", "a"):
            pass
    for atomic in (True, False):
        target = tmp_path / f"deep{atomic}" / "f.txt"
        with open_output(target, atomic=atomic, newline="\r\n") as f:
            f.write("a\nb\n")
        assert target.read_bytes() == b"a\r\nb\r\n"
        with open_output(target, "wb", atomic=atomic) as f:
            f.write(b"\x00\x01")
        assert target.read_bytes() == b"\x00\x01" and os.listdir(target.parent) == ["f.txt"]


def test_binary_standard_output_is_the_buffer(monkeypatch):
    class Out:
        def __init__(self):
            self.buffer, self.flushed = self, 0

        def flush(self):
            self.flushed += 1

    out = Out()
    monkeypatch.setattr(sys, "stdout", out)
    with open_output("-", "wb") as f:
        assert f is out.buffer
    assert out.flushed == 1


def test_write_json_and_text_content_and_return(tmp_path, capsys):
    obj = {"b": 1, "a": [1, 2]}
    assert write_json(tmp_path / "o.json", obj) == tmp_path / "o.json"
    assert (tmp_path / "o.json").read_text() == json.dumps(obj, indent=2) + "\n"
    assert write_text(tmp_path / "o.txt", "hi") == tmp_path / "o.txt"
    assert (tmp_path / "o.txt").read_text() == "hi"
    assert write_json("-", obj) is None and write_text("-", "hi") is None
    assert capsys.readouterr().out == json.dumps(obj, indent=2) + "\nhi"


def test_failure_lines(tmp_path, caplog):
    assert write_failure("o/x.jpg", OSError(errno.ENOSPC, "No space left on device")) == (
        "o/x.jpg: cannot write ([Errno 28] No space left on device)"
    )
    assert write_failure("o/x.jpg", OSError("gone")) == "o/x.jpg: cannot write (gone)"
    assert write_failure("o/x.jpg", ValueError("bad")) == "bad"
    errors = []
    with caplog.at_level(logging.WARNING, logger="ferkit.io_utils"):
        output_failed(errors, tmp_path / "y.png", OSError(errno.EACCES, "Permission denied"))
    line = f"{tmp_path / 'y.png'}: cannot write ([Errno 13] Permission denied)"
    assert errors == [{"path": str(tmp_path / "y.png"), "error": line}]
    assert [r.getMessage() for r in caplog.records] == [line] and caplog.records[0].levelno == logging.WARNING
