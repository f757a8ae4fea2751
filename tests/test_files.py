"""Files written aside get the permissions of the user's umask, not tempfile's 0600."""

import os
import stat
import tempfile

from nextbest._files import apply_default_permissions


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
