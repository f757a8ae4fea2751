"""Header errors of ingest: another delimiter gives a command, another schema is named in short."""

from __future__ import annotations

import pytest

from nextbest.banking.ingest import ingest
from nextbest.banking.schema import SnapshotSchema
from nextbest.errors import InputFileError

SANTANDER = SnapshotSchema.santander()

BANK_TOML = """
name = "mybank"
customer_id = "cid"
month = "date"

[[attributes]]
name = "segment"
type = "category"
tag = "segment"

[[products]]
column = "has_loan"
name = "loan"
"""


def test_semicolon_file_gets_the_command_that_converts_it(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(";".join(SANTANDER.file_columns("train")) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as raised:
        ingest([path], tmp_path / "ws")
    assert raised.value.line == 1
    assert "pd.read_csv('semi.csv', sep=';').to_csv('comma.csv', index=False)" in raised.value.fix


def test_file_of_another_schema_named_in_short(tmp_path):
    schema_file = tmp_path / "bank.toml"
    schema_file.write_text(BANK_TOML, encoding="utf-8")
    bank = tmp_path / "bank.csv"
    bank.write_text("date,cid,segment,has_loan\n2016-01-28,1,A,0\n", encoding="utf-8")
    ingest([bank], tmp_path / "ws", schema=SnapshotSchema.from_toml(schema_file))
    santander = tmp_path / "train.csv"
    santander.write_text(",".join(SANTANDER.file_columns("train")) + "\n", encoding="utf-8")

    with pytest.raises(InputFileError) as raised:
        ingest([santander], tmp_path / "ws")

    message = str(raised.value)
    assert f"schema 'mybank' of workspace {tmp_path / 'ws'}" in message
    assert "3 of the 3 columns of its test layout are missing (date, cid, segment)" in message
    assert "48 of the file's columns are not in the schema (fecha_dato, ncodpers, ind_empleado, pais_residencia, ... (44 more))" in message
    assert "sexo" not in message
    assert "another schema" in message


def test_header_with_few_schema_columns_counts_the_missing(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("fecha_dato,ncodpers\n2016-01-28,1\n", encoding="utf-8")
    with pytest.raises(InputFileError) as raised:
        ingest([path], tmp_path / "ws")
    message = str(raised.value)
    assert "the built-in schema 'santander': 22 of the 24 columns of its test layout are missing" in message
    assert "(ind_empleado, pais_residencia, sexo, age, ... (18 more))" in message
    assert "renta" not in message


def test_small_difference_lists_every_column(tmp_path):
    columns = SANTANDER.file_columns("train")
    header = ["edad" if name == "age" else name for name in columns]
    path = tmp_path / "train.csv"
    path.write_text(",".join(header) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as raised:
        ingest([path], tmp_path / "ws")
    message = str(raised.value)
    assert "does not match the training layout of the built-in schema 'santander' (48 columns)" in message
    assert "missing: age" in message
    assert "unexpected: edad" in message
