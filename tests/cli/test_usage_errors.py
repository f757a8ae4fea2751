"""Command-line usage mistakes end in a one-line message and exit status 2, never a traceback."""

import subprocess
import sys

import pytest


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nextbest", *arguments], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["run", "--workspace", "ws", "--frobnicate"], "No such option: --frobnicate"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["run"], "Missing option '--workspace'"),
        (["run", "--workspace", "ws", "--top-k", "0"], "--top-k"),
        (["--verbose", "--quiet", "features", "-w", "ws", "-t", "2016-01"], "cannot be used together"),
    ],
)
def test_usage_error_is_one_message(arguments, expected, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "nextbest", *arguments],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_file_exits_with_status_1(tmp_path):
    done = run_cli("ingest", str(tmp_path / "absent.csv"), "--workspace", str(tmp_path / "ws"))
    assert done.returncode == 1
    assert "absent.csv: file not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_fit_rejects_model_path_before_training(tmp_path, multilabel_dir):
    taken = tmp_path / "notes.txt"
    taken.write_text("not a model")

    done = run_cli("fit", str(multilabel_dir / "emotions-train.arff"), "--labels-last", "6", "--model", str(taken))

    assert done.returncode == 1
    assert "is not a nextbest model directory" in done.stderr
    assert "Epoch" not in done.stdout + done.stderr
    assert taken.read_text() == "not a model"
