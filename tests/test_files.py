"""Files written aside get the permissions of the user's umask, not tempfile's 0600."""

import os
import stat
import tempfile

from nextbest._files import apply_default_permissions, replaced_on_success


def test_file_follows_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        handle, name = tempfile.mkstemp(dir=tmp_path)
        os.close(handle)
        apply_default_permissions(name)
        folder = tempfile.mkdtemp(dir=tmp_path)
        apply_default_permissions(folder, directory=True)
    finally:
        os.umask(previous)

    assert stat.S_IMODE(os.stat(name).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    try:
        with replaced_on_success(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("write failed")
    except RuntimeError:
        pass

    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv"]
