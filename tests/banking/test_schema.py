"""The snapshot schema: the built-in Santander layout, TOML files and the dictionary round trip."""

from __future__ import annotations

import pytest

from nextbest.banking.schema import Attribute, Product, SnapshotSchema
from nextbest.errors import InputFileError, NextbestError

SANTANDER_PRODUCTS = (
    "ahor_fin aval_fin cco_fin cder_fin cno_fin ctju_fin ctma_fin ctop_fin ctpp_fin deco_fin deme_fin dela_fin "
    "ecue_fin fond_fin hip_fin plan_fin pres_fin reca_fin tjcr_fin valo_fin viv_fin nomina nom_pens recibo"
).split()


def test_santander_layouts_have_48_and_24_columns():
    schema = SnapshotSchema.santander()
    train = schema.file_columns("train")
    test = schema.file_columns("test")
    assert len(train) == 48
    assert len(test) == 24
    assert train[:2] == ["fecha_dato", "ncodpers"]
    assert test[-1] == "segmento"
    assert train[-1] == "ind_recibo_ult1"


def test_santander_product_short_names():
    schema = SnapshotSchema.santander()
    assert schema.product_names == SANTANDER_PRODUCTS
    for product in schema.products:
        assert product.column.removeprefix("ind_").removesuffix("_ult1") == product.name


def test_santander_tags_and_rules():
    schema = SnapshotSchema.santander()
    assert schema.attribute("income").name == "renta"
    assert schema.attribute("seniority").missing == (-999999,)
    assert schema.attribute("join_date").type == "date"
    assert schema.attribute("activity").name == "ind_actividad_cliente"
    indrel_1mes = next(a for a in schema.attributes if a.name == "indrel_1mes")
    assert indrel_1mes.merge == {"1.0": "1", "2.0": "2", "3.0": "3", "4.0": "4"}


def test_unknown_tag_lookup_raises():
    with pytest.raises(ValueError, match="unknown attribute tag 'wealth'"):
        SnapshotSchema.santander().attribute("wealth")


def test_snapshot_columns_order():
    schema = SnapshotSchema.santander()
    columns = schema.snapshot_columns()
    assert columns[:3] == ["customer_id", "month", "ind_empleado"]
    assert columns[-24:] == SANTANDER_PRODUCTS


def test_dict_round_trip():
    schema = SnapshotSchema.santander()
    assert SnapshotSchema.from_dict(schema.to_dict()) == schema


def test_toml_file_round_trip(tmp_path):
    path = tmp_path / "bank.toml"
    path.write_text(
        """
name = "small bank"
customer_id = "client"
month = "as_of"
missing = ["NA", "?"]

[[attributes]]
name = "years"
type = "integer"
tag = "age"
missing = [-1]

[[attributes]]
name = "tier"
type = "category"
merge = { "gold " = "gold" }

[[products]]
column = "has_card"
name = "card"
""",
        encoding="utf-8",
    )
    schema = SnapshotSchema.from_toml(path)
    assert schema.name == "small bank"
    assert schema.missing == ("NA", "?")
    assert schema.attributes == (
        Attribute("years", "integer", tag="age", missing=(-1,)),
        Attribute("tier", "category", merge={"gold ": "gold"}),
    )
    assert schema.products == (Product("has_card", "card"),)
    assert schema.file_columns("train") == ["as_of", "client", "years", "tier", "has_card"]
    assert SnapshotSchema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ('name = "x"\ntype = "text"', "invalid type 'text'"),
        ('name = "x"\ntype = "integer"\ntag = "wealth"', "unknown tag 'wealth'"),
        ('name = "x"\ntype = "integer"\nmerge = { "1.0" = "1" }', "merge applies to category attributes only"),
        ('name = "ncodpers"\ntype = "integer"', "file column 'ncodpers' twice"),
        ('name = "x"\ntype = "integer"\ncolour = "red"', "invalid attribute 'x': unknown key(s) 'colour'"),
        ('name = "age"\ntyp = "integer"', "invalid attribute 'age': unknown key(s) 'typ'"),
        ('name = "x"', "invalid attribute 'x': it lacks type"),
    ],
)
def test_invalid_toml_schema_names_problem(tmp_path, attribute, message):
    path = tmp_path / "bad.toml"
    path.write_text(
        f'name = "b"\ncustomer_id = "ncodpers"\nmonth = "fecha_dato"\n[[attributes]]\n{attribute}\n'
        '[[products]]\ncolumn = "p"\nname = "p"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match="invalid schema") as caught:
        SnapshotSchema.from_toml(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_toml_syntax_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(InputFileError, match="invalid TOML"):
        SnapshotSchema.from_toml(path)


def test_missing_toml_file(tmp_path):
    with pytest.raises(InputFileError, match="schema file not found"):
        SnapshotSchema.from_toml(tmp_path / "absent.toml")


def test_schema_without_products_is_rejected():
    with pytest.raises(NextbestError, match="no products"):
        SnapshotSchema(name="b", customer_id="id", month="m", attributes=(), products=())


def test_product_name_clash_with_attribute():
    with pytest.raises(NextbestError, match="snapshot column 'age' twice"):
        SnapshotSchema(
            name="b",
            customer_id="id",
            month="m",
            attributes=(Attribute("age", "integer"),),
            products=(Product("ind_age", "age"),),
        )
