"""The command line points JAX's persistent compilation cache at nextbest's cache folder."""

from __future__ import annotations

import pytest

from nextbest.cli import _common

VARIABLES = ("NEXTBEST_CACHE_DIR", "XDG_CACHE_HOME", "JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_default_folder_is_under_the_home_cache(clean_environment, tmp_path):
    _common.enable_compilation_cache()
    import os

    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "home" / ".cache" / "nextbest" / "jax")
    assert float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) < 1


def test_xdg_and_nextbest_folders(clean_environment, tmp_path):
    import os

    clean_environment.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _common.enable_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "xdg" / "nextbest" / "jax")

    clean_environment.delenv("JAX_COMPILATION_CACHE_DIR")
    clean_environment.setenv("NEXTBEST_CACHE_DIR", str(tmp_path / "mine"))
    _common.enable_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "mine" / "jax")


def test_off_and_users_own_jax_setting_are_respected(clean_environment, tmp_path):
    import os

    clean_environment.setenv("NEXTBEST_CACHE_DIR", "off")
    _common.enable_compilation_cache()
    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ

    clean_environment.setenv("NEXTBEST_CACHE_DIR", str(tmp_path / "mine"))
    clean_environment.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "theirs"))
    _common.enable_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "theirs")
