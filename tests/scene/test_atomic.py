import os
import stat

import pytest

from scene.io import FormatError, atomic_output


def test_success_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until it succeeds
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["a.bin"]


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "n.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.bin").stat().st_mode) == 0o644


def test_failure_leaves_previous_file_and_no_debris(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FormatError, match="does not exist"):
        with atomic_output(tmp_path / "nope" / "a.bin"):
            pass
