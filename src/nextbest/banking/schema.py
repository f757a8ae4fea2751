"""The snapshot schema: each column of a bank's monthly file, its role, type and cleaning rules.

Later steps find columns through a `SnapshotSchema` (the customer id, the month, an attribute by
its tag, the products by short name) and never by a Santander column name.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nextbest.errors import InputFileError, NextbestError

ATTRIBUTE_TYPES = ("integer", "float", "category", "date")

TAGS = (
    "age",
    "seniority",
    "income",
    "segment",
    "sex",
    "channel",
    "province",
    "activity",
    "relation_type",
    "employee",
    "residence",
    "join_date",
)

# Column names of every snapshot table, ahead of the attributes and products.
CUSTOMER_ID_COLUMN = "customer_id"
MONTH_COLUMN = "month"

LAYOUTS = ("train", "test")


@dataclass(frozen=True)
class Attribute:
    """One attribute column of a snapshot file.

    Parameters
    ----------
    name : str
        Column name in the bank's file; the snapshot table keeps it.
    type : {"integer", "float", "category", "date"}
        Type of the cleaned values: int64, float64, string or date32.
    tag : str, optional
        What the attribute means to later steps, one of `TAGS`.
    missing : tuple, default ()
        Sentinel values of this column that mean "missing" (for example -999999), compared
        with the value after it is cast to `type`.
    merge : dict of str to str, default {}
        Spellings merged into another spelling (for example "1.0" into "1"), compared after
        trimming spaces.
    """

    name: str
    type: str
    tag: str | None = None
    missing: tuple = ()
    merge: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Product:
    """One product flag column: its `column` in the bank's file and its short `name`."""

    column: str
    name: str


@dataclass(frozen=True)
class SnapshotSchema:
    """The column layout of a bank's monthly snapshot files.

    Parameters
    ----------
    name : str
        Name of the schema, stored in the workspace.
    customer_id : str
        The customer id column, read as a 64-bit integer.
    month : str
        The snapshot date column; the snapshot's month is the month of this date.
    attributes : tuple of Attribute
        Attribute columns in file order.
    products : tuple of Product
        Product flag columns in file order.
    missing : tuple of str, default ("NA",)
        Spellings that mean "missing" in every column, compared after trimming spaces. An empty
        string is always missing.
    """

    name: str
    customer_id: str
    month: str
    attributes: tuple[Attribute, ...]
    products: tuple[Product, ...]
    missing: tuple[str, ...] = ("NA",)

    def __post_init__(self) -> None:
        _check_schema(self)

    @classmethod
    def santander(cls) -> SnapshotSchema:
        """Return the built-in schema of the Santander Product Recommendation files."""
        resource = importlib.resources.files("nextbest.banking").joinpath("santander.toml")
        with resource.open("rb") as handle:
            return cls.from_dict(tomllib.load(handle))

    @classmethod
    def from_toml(cls, path: str | Path) -> SnapshotSchema:
        """Read a schema from a TOML file laid out like the built-in `santander.toml`.

        Raises
        ------
        InputFileError
            When the file is missing, is not valid TOML or does not describe a valid schema.
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileError(path, "schema file not found", fix="Check the path given to --schema")
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise InputFileError(path, f"invalid TOML: {error}", fix="Correct the syntax") from None
        try:
            return cls.from_dict(data)
        except NextbestError as error:
            raise InputFileError(path, f"invalid schema: {error}", fix="Compare it with the built-in santander.toml") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SnapshotSchema:
        """Build a schema from the dictionary that `to_dict` returns (or a parsed TOML file)."""
        unknown = set(data) - {"name", "customer_id", "month", "missing", "attributes", "products"}
        if unknown:
            raise NextbestError(f"unknown schema keys {sorted(unknown)}; expected name, customer_id, month, missing, attributes, products")
        for key in ("name", "customer_id", "month", "attributes", "products"):
            if key not in data:
                raise NextbestError(f"the schema lacks the key {key!r}")
        return cls(
            name=str(data["name"]),
            customer_id=str(data["customer_id"]),
            month=str(data["month"]),
            attributes=tuple(_attribute_from_dict(item) for item in data["attributes"]),
            products=tuple(_product_from_dict(item) for item in data["products"]),
            missing=tuple(str(value) for value in data.get("missing", ("NA",))),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the schema as plain JSON-compatible data; `from_dict` reads it back."""
        attributes = []
        for attribute in self.attributes:
            item: dict[str, Any] = {"name": attribute.name, "type": attribute.type}
            if attribute.tag is not None:
                item["tag"] = attribute.tag
            if attribute.missing:
                item["missing"] = list(attribute.missing)
            if attribute.merge:
                item["merge"] = dict(attribute.merge)
            attributes.append(item)
        return {
            "name": self.name,
            "customer_id": self.customer_id,
            "month": self.month,
            "missing": list(self.missing),
            "attributes": attributes,
            "products": [{"column": p.column, "name": p.name} for p in self.products],
        }

    # Lookups used by ingest and the later steps.

    def attribute(self, tag: str) -> Attribute | None:
        """Return the attribute with this tag, or None when the schema has none."""
        if tag not in TAGS:
            raise ValueError(f"unknown attribute tag {tag!r}; expected one of {', '.join(TAGS)}")
        for attribute in self.attributes:
            if attribute.tag == tag:
                return attribute
        return None

    @property
    def product_names(self) -> list[str]:
        """Short names of the products, in file order."""
        return [product.name for product in self.products]

    @property
    def attribute_names(self) -> list[str]:
        """Names of the attributes, in file order."""
        return [attribute.name for attribute in self.attributes]

    def file_columns(self, layout: str) -> list[str]:
        """Return the columns a file of this layout has, in the expected order.

        The training layout ("train") is the month, the customer id, the attributes and the
        products; the test layout ("test") lacks the products.
        """
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
        columns = [self.month, self.customer_id, *self.attribute_names]
        if layout == "train":
            columns += [product.column for product in self.products]
        return columns

    def snapshot_columns(self) -> list[str]:
        """Return the columns of a snapshot table, in order."""
        return [CUSTOMER_ID_COLUMN, MONTH_COLUMN, *self.attribute_names, *self.product_names]


def _attribute_from_dict(item: dict[str, Any]) -> Attribute:
    known = ("name", "type", "tag", "missing", "merge")
    unknown = sorted(set(item) - set(known))
    label = f"attribute {item['name']!r}" if "name" in item else f"attribute {item!r}"
    if unknown:
        raise NextbestError(
            f"invalid {label}: unknown key(s) {', '.join(map(repr, unknown))}; the keys of an attribute are "
            f"{', '.join(known)}"
        )
    missing = [key for key in ("name", "type") if key not in item]
    if missing:
        raise NextbestError(f"invalid {label}: it lacks {' and '.join(missing)}; every attribute has a name and a type")
    merge = item.get("merge", {})
    if not isinstance(merge, dict):
        raise NextbestError(f"attribute {item['name']!r}: merge must be a table of spelling = spelling")
    return Attribute(
        name=str(item["name"]),
        type=str(item["type"]),
        tag=item.get("tag"),
        missing=tuple(item.get("missing", ())),
        merge={str(key): str(value) for key, value in merge.items()},
    )


def _product_from_dict(item: dict[str, Any]) -> Product:
    if set(item) != {"column", "name"}:
        unknown = sorted(set(item) - {"column", "name"})
        detail = f"unknown key(s) {', '.join(map(repr, unknown))}" if unknown else "it lacks a column or a name"
        raise NextbestError(f"invalid product {item!r}: {detail}; a product has exactly a column and a name")
    return Product(column=str(item["column"]), name=str(item["name"]))


def _check_schema(schema: SnapshotSchema) -> None:
    """Raise NextbestError when the schema's names, types or tags are inconsistent."""
    for attribute in schema.attributes:
        if attribute.type not in ATTRIBUTE_TYPES:
            raise NextbestError(
                f"attribute {attribute.name!r} has the invalid type {attribute.type!r}; "
                f"expected one of {', '.join(ATTRIBUTE_TYPES)}"
            )
        if attribute.tag is not None and attribute.tag not in TAGS:
            raise NextbestError(
                f"attribute {attribute.name!r} has the unknown tag {attribute.tag!r}; expected one of {', '.join(TAGS)}"
            )
        if attribute.merge and attribute.type != "category":
            raise NextbestError(f"attribute {attribute.name!r}: merge applies to category attributes only")

    tags = [a.tag for a in schema.attributes if a.tag is not None]
    _reject_duplicates("tag", tags)
    file_columns = [schema.month, schema.customer_id, *schema.attribute_names, *(p.column for p in schema.products)]
    _reject_duplicates("file column", file_columns)
    _reject_duplicates("snapshot column", schema.snapshot_columns())
    if not schema.products:
        raise NextbestError("the schema lists no products; a snapshot file needs at least one product column")


def _reject_duplicates(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise NextbestError(f"the schema names the {kind} {name!r} twice; each must be unique")
        seen.add(name)
