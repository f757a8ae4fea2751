"""Help texts of `nextbest synth` and `nextbest demo`: what --customers counts, where the demo writes."""

from __future__ import annotations

from typer.testing import CliRunner

from nextbest.cli.main import app


def help_text(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_synth_help_customers_of_last_month():
    text = " ".join(help_text("synth").replace("│", " ").split())
    assert "Customers of the last training month" in text
    assert "the test month has about as many" in text


def test_demo_help_names_default_folder():
    lines = [line.strip() for line in help_text("demo").splitlines()]
    assert "WORKSPACE is ./nextbest-demo unless --workspace names another folder." in lines
    assert "The run's outputs go to WORKSPACE/workspace/runs/<run id>/." in lines
    # At 80 columns every line of the description is a whole sentence.
    start = lines.index("Generate a small synthetic bank, run the main job on it and show the results.")
    end = next(index for index, line in enumerate(lines) if line.startswith("╭"))
    description = [line for line in lines[start:end] if line]
    assert len(description) == 4
    assert all(line.endswith(".") for line in description), description
