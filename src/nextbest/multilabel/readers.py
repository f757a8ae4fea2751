"""Read a multi-label table (CSV, Parquet, ARFF) into features and a 0/1 label matrix.

The file format follows the extension: ``.csv`` (also ``.csv.gz`` and other compressions
pyarrow detects), ``.parquet`` or ``.pq``, and ``.arff`` in dense or sparse form. The label
columns are named (``labels``), taken from the end of the table (``labels_last``, as MULAN's
ARFF files store them) or listed in a MULAN XML label file (``labels_xml``). Every other column
is a feature. A label column must hold only 0 and 1; anything else raises an
`InputFileError` that names the column, the invalid values and the first row holding one.
A malformed CSV file (wrong field count, unclosed quote, another delimiter, non-UTF-8 bytes,
no rows) raises an `InputFileError` that names its line (see `nextbest.multilabel.csv_checks`).
"""

from __future__ import annotations

import difflib
import logging
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import arff
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from nextbest.errors import InputFileError, NextbestError
from nextbest.multilabel import csv_checks

logger = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.lz4")
PARQUET_SUFFIXES = (".parquet", ".pq")
ARFF_SUFFIXES = (".arff",)
# ARFF attribute types that liac-arff reads as numbers.
_ARFF_NUMERIC_TYPES = {"NUMERIC", "REAL", "INTEGER"}
# A CSV text column whose non-empty cells are numbers in at least this share is read as a
# numeric column with a few stray cells, which is an error. As text, each of its values would
# be a rare category that the model cannot use.
MOSTLY_NUMERIC_SHARE = 0.95


@dataclass
class LabelledTable:
    """A table split into feature columns and label columns.

    Attributes
    ----------
    features : pandas.DataFrame
        Every column that is not a label, in file order.
    labels : ndarray of int8, shape (n_samples, n_labels), or None
        0/1 label values in the order of `label_names`; None when the file has no label column
        and labels were optional.
    label_names : list of str
        Names of the label columns, in the order requested.
    path : pathlib.Path
        The file read.
    """

    features: pd.DataFrame
    labels: np.ndarray | None
    label_names: list[str]
    path: Path


def table_format(path: str | Path) -> str:
    """Return ``"csv"``, ``"parquet"`` or ``"arff"`` from a file name's extension.

    Raises
    ------
    InputFileError
        For any other extension.
    """
    name = Path(path).name.lower()
    for file_format, suffixes in (("csv", CSV_SUFFIXES), ("parquet", PARQUET_SUFFIXES), ("arff", ARFF_SUFFIXES)):
        if name.endswith(suffixes):
            return file_format
    raise InputFileError(
        path,
        "unsupported file extension",
        fix=f"Use one of {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES + ARFF_SUFFIXES)}",
    )


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or ARFF file into a DataFrame, choosing the reader by extension."""
    path = Path(path)
    file_format = table_format(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", fix="Check the path")
    logger.info("Reading %s", path)
    if file_format == "csv":
        return _read_csv(path)
    if file_format == "parquet":
        return _read_parquet(path)
    return _read_arff(path)


def _read_csv(path: Path) -> pd.DataFrame:
    header = csv_checks.check_head(path)
    try:
        table = pa_csv.read_csv(path)
    except pa.ArrowInvalid as error:
        raise csv_checks.explain_read_error(path, error, header) from error
    except OSError as error:
        raise InputFileError(path, f"cannot be read as CSV: {error}", fix="Check that the file is complete and readable") from error
    csv_checks.check_utf8(path, table)
    return table.to_pandas()


def check_numeric_columns(features: pd.DataFrame, path: Path) -> None:
    """Raise an `InputFileError` for a CSV text column whose non-empty cells are almost all numbers.

    A CSV reader reads a column with one stray text cell as text, and the model would then
    treat the column as a category of unique values. The error names the first cell that is
    not a number. Its line assumes one line per row (header on line 1), which is off when a
    quoted field spans lines.
    """
    for name in features.columns:
        if pd.api.types.is_object_dtype(features[name]) or isinstance(features[name].dtype, pd.StringDtype):
            _check_not_mostly_numeric(features[name], path)


def _check_not_mostly_numeric(series: pd.Series, path: Path) -> None:
    text = series.map(lambda value: value.strip() if isinstance(value, str) else value)
    filled = text.notna() & (text != "")
    if not filled.any():
        return
    numbers = pd.to_numeric(text[filled], errors="coerce")
    not_numbers = numbers.isna()
    if not not_numbers.any() or not_numbers.mean() > 1 - MOSTLY_NUMERIC_SHARE:
        return
    first_row = int(np.flatnonzero(filled.to_numpy())[np.flatnonzero(not_numbers.to_numpy())[0]])
    raise InputFileError(
        path,
        f"the cell is not a number, but {int((~not_numbers).sum()):,} of the column's {len(numbers):,} "
        "non-empty cells are, so the column would be read as text and be of no use to the model",
        line=first_row + 2,
        column=str(series.name),
        value=str(series.iloc[first_row]),
        fix="Correct the value, or leave the cell empty if it is unknown",
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputFileError(path, f"cannot be read as Parquet: {error}", fix="Check that it is a Parquet file") from error
    return table.to_pandas()


def _read_arff(path: Path) -> pd.DataFrame:
    """Read a dense or sparse ARFF file with liac-arff.

    Numeric attributes become float64 columns; nominal attributes become pandas categoricals
    with the declared values; string and date attributes become object columns. In sparse
    data, liac-arff fills an omitted value with 0 for a numeric attribute and with the first
    declared value for a nominal one, as Weka defines the format.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            decoded = arff.load(handle, return_type=arff.DENSE)
    except arff.ArffException as error:
        line = getattr(error, "line", None)
        line = line if isinstance(line, int) and line > 0 else None
        problem = str(error).split(", at line")[0]
        raise InputFileError(path, f"invalid ARFF: {problem}", line=line, fix="Fix the value or the attribute declaration") from error
    except UnicodeDecodeError as error:
        raise InputFileError(path, f"is not UTF-8 text: {error}", fix="Save the file as UTF-8") from error

    names = [name for name, _ in decoded["attributes"]]
    frame = pd.DataFrame.from_records(decoded["data"], columns=names)
    for name, kind in decoded["attributes"]:
        if isinstance(kind, list):
            frame[name] = pd.Categorical(frame[name], categories=kind)
        elif str(kind).upper() in _ARFF_NUMERIC_TYPES:
            frame[name] = pd.to_numeric(frame[name]).astype(np.float64)
    return frame


def read_label_names(path: str | Path) -> list[str]:
    """Read the label names of a MULAN XML label file, in document order.

    MULAN nests ``label`` elements to describe a hierarchy; every ``label`` element at any
    depth is a label. The namespace is ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "label file not found", fix="Check the path of the MULAN XML label file")
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        line, _ = error.position
        raise InputFileError(path, f"invalid XML: {error}", line=line, fix="Fix the XML syntax") from error

    names = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "label":
            continue
        name = element.get("name")
        if not name:
            raise InputFileError(path, "a label element has no name attribute", fix='Write <label name="..."/>')
        names.append(name)
    if not names:
        raise InputFileError(path, "lists no label", fix='Add one <label name="..."/> element per label column')
    return names


def resolve_label_names(
    columns: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    labels_last: int | None = None,
    labels_xml: str | Path | None = None,
    path: str | Path = "<table>",
) -> list[str]:
    """Return the label column names that exactly one of the three label options selects."""
    options = (("labels", labels), ("labels_last", labels_last), ("labels_xml", labels_xml))
    chosen = [option for option, value in options if value is not None]
    if len(chosen) != 1:
        raise NextbestError(
            "Name the label columns in exactly one way: a list of names, the number of last columns, "
            f"or a MULAN XML label file; received {len(chosen)} ({', '.join(chosen) or 'none'})."
        )
    if labels_last is not None:
        if isinstance(labels_last, bool) or not 1 <= labels_last < len(columns):
            raise NextbestError(
                f"The number of last columns that are labels must be between 1 and {len(columns) - 1} "
                f"for {path}, which has {len(columns)} columns; received {labels_last}."
            )
        return list(columns[-labels_last:])
    names = list(labels) if labels is not None else read_label_names(labels_xml)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise NextbestError(f"Label names must be unique; repeated: {', '.join(duplicates)}.")
    if not names:
        raise NextbestError("The list of label columns is empty; name at least one.")
    return names


def check_columns_present(path, columns: Sequence[str], expected: Sequence[str], role: str = "label") -> None:
    """Raise an `InputFileError` listing the `expected` columns that `columns` lacks."""
    missing = [name for name in expected if name not in columns]
    if not missing:
        return
    hints = []
    for name in missing[:5]:
        close = difflib.get_close_matches(name, columns, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    shown = ", ".join(hints) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    raise InputFileError(
        path,
        f"{len(missing)} {role} column(s) not found: {shown}",
        fix=f"The file has the columns {', '.join(map(repr, list(columns)[:20]))}"
        + (" ..." if len(columns) > 20 else ""),
    )


def label_matrix(frame: pd.DataFrame, names: Sequence[str], path: str | Path, file_format: str) -> np.ndarray:
    """Return the named columns as an int8 0/1 matrix, raising for any other value."""
    columns = [_label_column(frame[name], name, path, file_format) for name in names]
    if not columns:
        return np.zeros((len(frame), 0), dtype=np.int8)
    return np.column_stack(columns).astype(np.int8)


def _label_column(series: pd.Series, name: str, path, file_format: str) -> np.ndarray:
    """Return one label column as 0/1 integers; raise naming the invalid values otherwise."""
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.int8)
    values = series.astype(object)
    if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        invalid = ~((numbers == 0) | (numbers == 1))
        if not invalid.any():
            return numbers.astype(np.int8)
    else:
        # Text such as ARFF's nominal values "0" and "1".
        as_text = values.map(lambda value: None if pd.isna(value) else str(value).strip())
        normalised = as_text.map({"0": 0, "1": 1, "0.0": 0, "1.0": 1, "True": 1, "False": 0}.get)
        invalid = normalised.isna().to_numpy()
        if not invalid.any():
            return normalised.to_numpy(dtype=np.int8)

    first_row = int(np.flatnonzero(invalid)[0])
    bad_values = list(dict.fromkeys(_shown_value(value) for value in pd.unique(values[invalid])))
    shown = ", ".join(bad_values[:5]) + (" ..." if len(bad_values) > 5 else "")
    # A CSV file has its header on line 1, so data row i (from 0) sits on line i + 2. That is
    # off when a quoted field spans lines. Other formats give the 1-based data row instead.
    line = first_row + 2 if file_format == "csv" else None
    where = "" if line is not None else f" (first at data row {first_row + 1})"
    raise InputFileError(
        path,
        f"label column holds values other than 0 and 1: {shown}; {int(invalid.sum())} row(s) affected{where}",
        line=line,
        column=name,
        fix="Recode the column to 0/1, or leave it out of the label columns",
    )


def _shown_value(value) -> str:
    """Return a label value as an error message shows it: quoted, or "an empty cell" for a null or blank."""
    if pd.isna(value) or (isinstance(value, str) and not value.strip()):
        return "an empty cell"
    return repr(value.item() if isinstance(value, np.generic) else value)


def read_table(
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    labels_last: int | None = None,
    labels_xml: str | Path | None = None,
    require_labels: bool = True,
) -> LabelledTable:
    """Read a table and split it into features and 0/1 labels.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV, Parquet or ARFF file (dense or sparse).
    labels : sequence of str, optional
        Names of the label columns.
    labels_last : int, optional
        Number of label columns at the end of the table.
    labels_xml : str or pathlib.Path, optional
        MULAN XML file listing the label names.
    require_labels : bool, default True
        Whether every label column must be in the file. With False (for scoring new data),
        the label columns may be absent, and then `labels` is None. When any is present, all
        must be, and they are checked and removed from the features.

    Returns
    -------
    LabelledTable

    Raises
    ------
    InputFileError
        For an unreadable file, a missing label column, or a label value other than 0 or 1.
    NextbestError
        For label options that conflict or name no column.
    """
    path = Path(path)
    frame = read_frame(path)
    if frame.empty and len(frame.columns) > 0:
        file_format = table_format(path)
        raise InputFileError(
            path,
            "the file has a header line but no data rows" if file_format == "csv" else "the table has no rows",
            fix="Pass a file with at least one data row",
        )
    columns = [str(name) for name in frame.columns]
    frame.columns = columns
    names = resolve_label_names(columns, labels=labels, labels_last=labels_last, labels_xml=labels_xml, path=path)

    present = [name for name in names if name in columns]
    if require_labels or present:
        check_columns_present(path, columns, names)
    if len(present) == len(columns):
        raise InputFileError(path, "has no feature column: every column is a label", fix="Add the feature columns")

    matrix = label_matrix(frame, present, path, table_format(path)) if present else None
    features = frame.drop(columns=present)
    if table_format(path) == "csv":
        check_numeric_columns(features, path)
    logger.info("Read %d rows, %d features and %d labels from %s", len(frame), features.shape[1], len(present), path)
    return LabelledTable(features=features, labels=matrix, label_names=names, path=path)
