"""File-system errors, SIGTERM and early option checks: one line, the right exit status, no leftovers."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.banking.run_months import RunMonths, check_month_to_predict, history_warnings
from nextbest.cli import main as cli_main
from nextbest.cli._os_errors import describe_os_error
from nextbest.cli.generic import _write_table, check_folder_writable
from nextbest.errors import NextbestError

runner = CliRunner()


def run_cli(*arguments: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nextbest", *arguments], capture_output=True, text=True, check=False, cwd=cwd
    )


def unboxed(output: str) -> str:
    """Return `output` without Rich's box characters and line breaks, for matching a wrapped message."""
    return " ".join(output.translate({ord(char): " " for char in "│╭╮╰╯─"}).split())


# describe_os_error


def test_os_error_path_under_a_file(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / "file.txt" / "out.csv"
    with pytest.raises(OSError) as raised:
        target.write_text("y")
    message = describe_os_error(raised.value)
    assert message == (
        f"cannot create {target}: {tmp_path / 'file.txt'} is a file, not a folder; "
        "choose a path whose folders are folders"
    )


def test_os_error_temporary_file_names_its_folder(tmp_path):
    error = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".june.csv.tmp-24113"))
    assert describe_os_error(error) == (
        f"cannot write in folder {tmp_path}: permission denied; choose a folder you can write to"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.EROFS, "Read-only file system", "/mnt/out.csv"), "the file system is read-only"),
        (OSError(errno.ENOSPC, "No space left on device"), "a file operation failed: no space left on the device"),
        (OSError("Parquet magic bytes not found in footer of x.parquet"), "failed: Parquet magic bytes not found in"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/tmp"), "cannot write /tmp: it is a folder; pass the path"),
        (OSError(errno.EIO, "Input/output error", "/nonexistent/x"), "cannot create /nonexistent/x: input/output error"),
    ],
)
def test_os_error_reasons_in_words(error, expected):
    assert expected in describe_os_error(error)


# main(): OSError and SIGTERM


def test_main_prints_permission_error_in_one_line(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(tmp_path / "ro" / ".nextbest-ingest-x"))

    monkeypatch.setattr("nextbest.cli.ingest.ingest", refuse)
    monkeypatch.setattr(sys, "argv", ["nextbest", "ingest", str(tmp_path / "t.csv"), "-w", str(tmp_path / "ro" / "ws")])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert unboxed(error) == (
        f"error: cannot write in folder {tmp_path / 'ro'}: operation not permitted; choose a folder you can write to"
    )
    assert "Traceback" not in error


def test_main_verbose_logs_traceback(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "ws"))

    monkeypatch.setattr("nextbest.cli.ingest.ingest", refuse)
    monkeypatch.setattr(sys, "argv", ["nextbest", "--verbose", "ingest", str(tmp_path / "t.csv"), "-w", str(tmp_path / "ws")])
    with pytest.raises(SystemExit):
        cli_main.main()
    error = capsys.readouterr().err
    assert "Traceback" in error
    assert "PermissionError" in error


def test_synth_into_proc_is_one_line(tmp_path):
    done = run_cli("synth", "--customers", "10", "--months", "2015-01..2015-02", "--out-train", "/proc/t.csv")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: cannot write in folder /proc: no such file or folder; check that the folder exists and can hold files"
    )


def test_ingest_into_proc_is_one_line(tmp_path):
    source = tmp_path / "t.csv"
    made = run_cli("synth", "--customers", "10", "--months", "2015-01..2015-02", "--out-train", str(source))
    assert made.returncode == 0, made.stderr

    done = run_cli("ingest", str(source), "--workspace", "/proc/ws")

    assert done.returncode == 1
    assert "error: cannot write in folder /proc: no such file or folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_failed_table_write_leaves_nothing(tmp_path, monkeypatch):
    import pandas as pd

    def refuse(source, target):
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr("nextbest.cli.generic.os.replace", refuse)
    with pytest.raises(PermissionError):
        _write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.csv", "csv")
    assert list(tmp_path.iterdir()) == []


SIGTERM_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from nextbest.banking.run_outputs import RunDirectory
    from nextbest.cli import main as cli

    def interrupted(workspace: Path):
        output = RunDirectory(workspace / "runs")
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        except BaseException:
            output.discard()
            raise

    cli.app.command("interrupted")(interrupted)
    sys.argv = ["nextbest", "interrupted", sys.argv[1]]
    cli.main()
    """
)


def test_sigterm_removes_partial_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 143, done.stderr
    assert list((tmp_path / "runs").iterdir()) == []
    assert "Traceback" not in done.stderr


def test_sigterm_handler_raises_system_exit():
    with pytest.raises(SystemExit) as exited:
        cli_main.exit_on_sigterm(signal.SIGTERM, None)
    assert exited.value.code == 143


# Option checks before any work, with exit status 2


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--validation-month", "2016-13", "invalid month '2016-13'"),
        ("--training-months", "2016-05..2016-01", "it ends before it starts"),
    ],
)
def test_run_month_options_checked_before_ingest(tmp_path, option, value, expected):
    # The training file does not exist: the option must be rejected before it is looked at.
    workspace = tmp_path / "ws"
    result = runner.invoke(
        cli_main.app, ["run", "--train", str(tmp_path / "absent.csv"), "--workspace", str(workspace), option, value]
    )
    assert result.exit_code == 2
    assert expected in unboxed(result.output)
    assert not workspace.exists()


def test_ingest_share_of_bad_rows_is_usage_error(tmp_path):
    result = runner.invoke(
        cli_main.app, ["ingest", str(tmp_path / "absent.csv"), "--workspace", str(tmp_path / "ws"), "--max-bad-rows", "5"]
    )
    assert result.exit_code == 2
    assert "--max-bad-rows" in unboxed(result.output)
    assert not (tmp_path / "ws").exists()


def test_fit_with_two_label_options_is_usage_error(tmp_path):
    result = runner.invoke(
        cli_main.app, ["fit", str(tmp_path / "t.csv"), "--labels", "a", "--labels-last", "3", "--model", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "exactly one of --labels, --labels-last or --labels-xml" in unboxed(result.output)


FIT_MISSING_SCRIPT = textwrap.dedent(
    """
    import sys
    from nextbest.cli.main import main
    sys.argv = ["nextbest", "fit", sys.argv[1], "--labels", "a", "--model", sys.argv[2]]
    try:
        main()
    finally:
        print("keras imported:", "keras" in sys.modules)
    """
)


def test_fit_missing_file_fails_before_keras(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", FIT_MISSING_SCRIPT, str(tmp_path / "nope.arff"), str(tmp_path / "m")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 1
    assert "nope.arff: file not found" in done.stderr
    assert "keras imported: False" in done.stdout


# Month checks of `nextbest run` and `nextbest features`


MONTHS = ["2015-12", "2016-01", "2016-02", "2016-03", "2016-04", "2016-05"]


def months_of_run(predict: str, carried: bool = False) -> RunMonths:
    return RunMonths(
        training=["2016-02", "2016-03"], validation="2016-05", predict=predict, predict_carried=carried,
        retraining=["2016-02", "2016-03", "2016-05"],
    )


def test_month_to_predict_after_gap_names_files():
    with pytest.raises(NextbestError) as raised:
        check_month_to_predict(months_of_run("2016-09"), MONTHS)
    message = str(raised.value)
    assert "needs the products of the month before (2016-08)" in message
    assert "training-layout files of 2016-06..2016-08 with --train" in message
    assert "test file of 2016-06" in message
    assert "target month" not in message


def test_month_to_predict_without_gap_passes():
    check_month_to_predict(months_of_run("2016-06"), MONTHS)
    check_month_to_predict(months_of_run("2016-06", carried=True), MONTHS)


def test_history_warning_single_lag_wording():
    assert history_warnings(["2016-02"], MONTHS, lags=3) == [
        "target month 2016-02: product lag 3 is null (months before 2015-12) for every customer, "
        "because the workspace starts later; --lags 2 gives every month of the run its full history"
    ]


def test_history_warning_skips_month_without_lag_1():
    # 2015-12 has no month before it, so building it fails; no --lags value would help.
    assert history_warnings(["2015-12"], MONTHS, lags=5) == []
    messages = history_warnings(["2015-12", "2016-01"], MONTHS, lags=2)
    assert messages == [
        "target month 2016-01: product lag 2 is null (months before 2015-12) for every customer, "
        "because the workspace starts later; --lags 1 gives every month of the run its full history"
    ]



def test_folder_write_check_before_training(tmp_path):
    check_folder_writable(tmp_path / "new" / "models")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError) as raised:
        check_folder_writable(Path("/proc/models"))
    assert describe_os_error(raised.value).startswith("cannot write in folder /proc: no such file or folder")
