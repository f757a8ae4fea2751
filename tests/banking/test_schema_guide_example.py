"""The schema example of docs/guide.md parses and ingests the rows the guide shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nextbest.banking.ingest import ingest
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.workspace import Workspace

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def guide_block(language: str, first_line: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    matching = [block for block in blocks if block.startswith(first_line)]
    assert len(matching) == 1, f"expected one {language} block starting {first_line!r} in {GUIDE}"
    return matching[0]


@pytest.fixture
def schema_file(tmp_path):
    path = tmp_path / "bank.toml"
    path.write_text(guide_block("toml", 'name = "mybank"'), encoding="utf-8")
    return path


def test_guide_schema_ingests_the_guide_rows(tmp_path, schema_file):
    schema = SnapshotSchema.from_toml(schema_file)
    assert schema.product_names == ["card", "loan", "savings"]
    bank = tmp_path / "bank.csv"
    rows = guide_block("text", "date,cid,")
    bank.write_text(rows + "2016-02-28,1,26,50.5,unknown,2010-08-15,1,0,0\n", encoding="utf-8")
    test_columns = schema.file_columns("test")
    test = tmp_path / "bank-test.csv"
    test.write_text(",".join(test_columns) + "\n2016-03-28,1,27,NA,RETAIL,2010-08-15\n", encoding="utf-8")

    report = ingest([bank, test], tmp_path / "ws", schema=schema)

    workspace = Workspace(tmp_path / "ws")
    assert workspace.labelled_months() == ["2016-01", "2016-02"]
    assert workspace.months_to_predict() == ["2016-03"]
    quirks = report["files"][0]["quirks"]
    assert quirks["income"] == {"sentinel": 1}
    assert quirks["segment"] == {"merged": 1, "missing_spelling": 1}


def test_empty_attribute_list_is_allowed():
    schema = SnapshotSchema.from_dict(
        {"name": "tiny", "customer_id": "cid", "month": "date", "attributes": [], "products": [{"column": "p", "name": "p"}]}
    )
    assert schema.file_columns("train") == ["date", "cid", "p"]
