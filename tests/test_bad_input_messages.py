"""Bad options and damaged model directories: one clear error each, never a traceback or a partial file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nextbest.banking.recommender_model import RecommenderModel
from nextbest.cli.main import app
from nextbest.errors import InputFileError, NextbestError
from nextbest.multilabel import MultiLabelNet
from nextbest.multilabel.saving import MODEL_FILE, STATE_FILE, _params_to_json, load_model

runner = CliRunner()


def unboxed(output: str) -> str:
    """Return `output` without Rich's box characters and line breaks, for matching a wrapped message."""
    return " ".join(output.translate({ord(char): " " for char in "│╭╮╰╯─"}).split())


def invoke(*args: str):
    return runner.invoke(app, ["--quiet", *args], catch_exceptions=True)


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,y1,y2\n1,0,1\n2,1,0\n3,1,1\n", encoding="utf-8")
    return path


def test_labels_option_without_names(tmp_path, table):
    result = invoke("fit", str(table), "--labels", ",", "--model", str(tmp_path / "m"))
    assert result.exit_code == 2
    assert "',' names no column; pass names such as --labels y1,y2" in unboxed(result.output)
    assert not (tmp_path / "m").exists()


def test_semicolon_table_fails_before_training(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;y1;y2\n1;0;1\n", encoding="utf-8")
    result = invoke("fit", str(path), "--labels", "y1,y2", "--model", str(tmp_path / "m"))
    assert isinstance(result.exception, InputFileError)
    assert "line 1: the file looks semicolon-separated" in str(result.exception)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_output_path_is_a_directory(tmp_path, table, command):
    folder = tmp_path / "out.csv"
    folder.mkdir()
    result = invoke(command, str(table), "--model", str(tmp_path / "m"), "--out", str(folder))
    assert isinstance(result.exception, NextbestError)
    assert str(result.exception) == f"cannot write {folder}: it is a directory; pass the path of a file"
    assert list(folder.iterdir()) == []


def damaged_model(tmp_path, state: str, model_bytes: bytes = b"not a zip file"):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / STATE_FILE).write_text(state, encoding="utf-8")
    (folder / MODEL_FILE).write_bytes(model_bytes)
    return folder


@pytest.mark.parametrize(
    ("state", "cause"),
    [
        ("{not json", "JSONDecodeError: Expecting property name"),
        ('{"format_version": 1}', "KeyError: 'versions'"),
        ("[]", "AttributeError"),
    ],
)
def test_damaged_model_state(tmp_path, state, cause):
    folder = damaged_model(tmp_path, state)
    with pytest.raises(NextbestError) as caught:
        load_model(folder)
    message = str(caught.value)
    assert message.startswith(f"cannot load the model in {folder}: its files are damaged or were not written by nextbest")
    assert cause in message
    assert message.endswith("fit the model again, or copy the whole directory again.")


def test_damaged_keras_file(tmp_path):
    params = _params_to_json(MultiLabelNet().get_params())
    folder = damaged_model(tmp_path, json.dumps({"format_version": 1, "versions": {}, "params": params}))
    with pytest.raises(NextbestError) as caught:
        load_model(folder)
    message = str(caught.value)
    assert message.startswith(f"cannot load the model in {folder}: its files are damaged")
    # Keras reads the file and rejects it: the parameters were all readable.
    assert "ValueError" in message
    assert "model.keras" in message


def test_predict_with_damaged_model_has_no_traceback(tmp_path, table):
    folder = damaged_model(tmp_path, "{not json")
    result = invoke("predict", str(table), "--model", str(folder), "--out", str(tmp_path / "p.csv"))
    assert result.exit_code == 1
    assert isinstance(result.exception, NextbestError)
    assert not (tmp_path / "p.csv").exists()


def test_damaged_recommender_description(tmp_path):
    (tmp_path / "recommender.json").write_text('{"format_version": ', encoding="utf-8")
    with pytest.raises(NextbestError) as caught:
        RecommenderModel.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'recommender.json'} is not readable JSON (")
    assert "run `nextbest run` again" in message


def test_error_quoting_markup_is_printed_verbatim(tmp_path, capfd, monkeypatch):
    # A file name that Rich would read as a closing tag must reach the terminal as written.
    from nextbest.cli import main

    missing = tmp_path / "br[/x].csv"
    monkeypatch.setattr("sys.argv", ["nextbest", "--quiet", "ingest", str(missing), "--workspace", str(tmp_path / "ws")])
    with pytest.raises(SystemExit) as exit_info:
        main.main()
    assert exit_info.value.code == 1
    err = capfd.readouterr().err
    assert "error:" in err
    assert "br[/x].csv" in err.replace("\n", "")
