"""Generate the SQL text that turns monthly snapshots into the examples of one target month.

The query reads one relation per month of the window, named ``snapshot_m0`` (the target month
T) to ``snapshot_m<L>`` (T-L), each with the columns of a snapshot file. It joins them on the
customer id, so that every lag is a column, and derives the history features from those
columns. It uses only joins, ``CASE``, ``coalesce``, ``concat``, ``CAST``, ``year`` and
``month``, which DuckDB and Spark SQL both run with the same meaning, so a Spark job can run the
same text after registering the month files as temporary views. Registering the relations and
writing the result are engine-specific and live in `nextbest.banking.features`.

Feature columns, for a window of L lags:

- every attribute of T under its own name; a ``date`` attribute becomes
  ``months_since_<name>``, the whole months between it and T;
- ``<income>_missing``: 1 where the attribute tagged ``income`` is null in T;
- ``<tag>_transition`` (categorical, ``"<T-1 value>><T value>"``) and ``<tag>_changed`` (0/1)
  for the attributes tagged ``activity`` and ``relation_type``;
- ``<product>_lag<k>``, k = 1..L: the product held in T-k (0/1), null where T-k is before the
  data or the customer has no row in T-k;
- ``<product>_adds`` and ``<product>_drops``: the changes 0 to 1 and 1 to 0 between
  consecutive months of T-L..T-1, null where no two consecutive months have a row of the
  customer; ``<product>_months_since_change``: k where the latest such change happened in
  month T-k, null where the window shows none;
- ``products_held_lag1``, ``products_held_lag2`` and ``products_held_change`` (their
  difference), ``products_added_window`` and ``products_dropped_window`` (over all products);
- ``ownership_pattern_lag1`` (categorical): the products of T-1 as a string of 0 and 1;
- ``months_since_first_seen``: k for the earliest month T-k of the window with a row of the
  customer, 0 for a customer first seen in T. The window caps it at L, so it has the same range
  for every target month;
- ``months_present_window``: how many months of T-L..T-1 have a row of the customer.

A product that is null in a month with product columns counts as not held (0). In a month read
from a test-layout file the products are unknown, and so are the features drawn from them.
Nothing about the products of T or later enters a feature: T's products appear only in the
``added_<product>`` labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from nextbest.banking.schema import CUSTOMER_ID_COLUMN, Attribute, SnapshotSchema
from nextbest.errors import NextbestError

NUMERIC = "numeric"
CATEGORICAL = "categorical"

# Attribute types of the snapshot schema, mapped to the kind of feature each becomes.
_KIND_OF_TYPE = {"integer": NUMERIC, "float": NUMERIC, "category": CATEGORICAL, "date": NUMERIC}

# Attribute tags whose change from T-1 to T becomes a transition feature.
TRANSITION_TAGS = ("activity", "relation_type")


@dataclass(frozen=True)
class FeatureColumn:
    """A feature column of the examples table, with its kind (``numeric`` or ``categorical``)."""

    name: str
    kind: str


@dataclass(frozen=True)
class WindowMonth:
    """One month of the window that the query reads.

    Attributes
    ----------
    offset : int
        How many months before the target month (0 is the target month itself).
    month : str
        The month, ``YYYY-MM``.
    exists : bool
        Whether the workspace contains a snapshot of this month.
    products_known : bool
        Whether the snapshot has product values, which is false for a month read from a
        test-layout file.
    """

    offset: int
    month: str
    exists: bool
    products_known: bool

    @property
    def relation(self) -> str:
        """Name of this month's snapshot relation in the query."""
        return f"snapshot_m{self.offset}"


@dataclass(frozen=True)
class FeatureQuery:
    """A generated query and the feature columns of its result, in order."""

    sql: str
    features: tuple[FeatureColumn, ...]


def _month_literal(month: str) -> str:
    return f"DATE '{month}-01'"


def _lag(product: str, k: int) -> str:
    return f"{product}_lag{k}"


def _product_value(window_month: WindowMonth, product: str) -> str:
    """Return the expression of one product in one month of the window: 0, 1 or null."""
    if not window_month.exists or not window_month.products_known:
        return "CAST(NULL AS TINYINT)"
    alias = f"m{window_month.offset}"
    # A customer absent from the month leaves the joined row null; a null value in a row that
    # exists counts as not held.
    return (
        f"CASE WHEN {alias}.{CUSTOMER_ID_COLUMN} IS NULL THEN CAST(NULL AS TINYINT) "
        f"ELSE CAST(coalesce({alias}.{product}, 0) AS TINYINT) END"
    )


def _presence(window_month: WindowMonth) -> str:
    if not window_month.exists:
        return "0"
    return f"CASE WHEN m{window_month.offset}.{CUSTOMER_ID_COLUMN} IS NULL THEN 0 ELSE 1 END"


def _attribute_columns(attributes: tuple[Attribute, ...], target_month: str) -> list[tuple[str, FeatureColumn]]:
    """Return (expression, feature) pairs for the attributes of the target month."""
    pairs = []
    for attribute in attributes:
        column = f"m0.{attribute.name}"
        if attribute.type == "date":
            # Calendar months from the date's month to T, negative for a date after T. Spark's
            # months_between returns fractional months (Spark 3.5 docs) while DuckDB's date_diff
            # counts month boundaries (DuckDB 2.0), so the arithmetic is spelled out.
            target = _month_literal(target_month)
            expression = f"(year({target}) - year({column})) * 12 + (month({target}) - month({column}))"
            pairs.append((expression, FeatureColumn(f"months_since_{attribute.name}", NUMERIC)))
        else:
            pairs.append((column, FeatureColumn(attribute.name, _KIND_OF_TYPE[attribute.type])))
        if attribute.tag == "income":
            expression = f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END"
            pairs.append((expression, FeatureColumn(f"{attribute.name}_missing", NUMERIC)))
    return pairs


def _transition_columns(schema: SnapshotSchema) -> list[tuple[str, FeatureColumn]]:
    """Return (expression, feature) pairs for the T-1 to T transitions of tagged attributes."""
    pairs = []
    for tag in TRANSITION_TAGS:
        attribute = schema.attribute(tag)
        if attribute is None:
            continue
        # A missing value is spelled NA so that a change to or from missing is a transition.
        # coalesce also keeps the result the same in Spark, whose concat returns null when an
        # argument is null, while DuckDB's skips null arguments.
        now = f"coalesce(CAST(m0.{attribute.name} AS STRING), 'NA')"
        before = f"coalesce(CAST(m1.{attribute.name} AS STRING), 'NA')"
        absent = f"m1.{CUSTOMER_ID_COLUMN} IS NULL"
        transition = f"CASE WHEN {absent} THEN NULL ELSE concat({before}, '>', {now}) END"
        changed = f"CASE WHEN {absent} THEN NULL WHEN {before} = {now} THEN 0 ELSE 1 END"
        pairs.append((transition, FeatureColumn(f"{tag}_transition", CATEGORICAL)))
        pairs.append((changed, FeatureColumn(f"{tag}_changed", NUMERIC)))
    return pairs


def _joined_relation(
    schema: SnapshotSchema,
    window: tuple[WindowMonth, ...],
    own_columns: list[tuple[str, FeatureColumn]],
    predict: bool,
) -> str:
    """Return the SELECT that joins the months of the window into one row per customer."""
    lags = len(window) - 1
    products = schema.product_names
    select = [f"m0.{CUSTOMER_ID_COLUMN} AS {CUSTOMER_ID_COLUMN}"]
    select += [f"{expression} AS {feature.name}" for expression, feature in own_columns]
    select += [f"{_presence(window[k])} AS present_lag{k}" for k in range(1, lags + 1)]
    for k in range(1, lags + 1):
        select += [f"{_product_value(window[k], product)} AS {_lag(product, k)}" for product in products]
    if not predict:
        select += [f"CAST(coalesce(m0.{product}, 0) AS TINYINT) AS target_{product}" for product in products]

    # The population of a labelled month is the customers present in T-1 and T; a month to
    # predict keeps every customer of T.
    join_previous = "LEFT JOIN" if predict else "INNER JOIN"
    lines = ["SELECT\n    " + ",\n    ".join(select), f"FROM {window[0].relation} AS m0"]
    for window_month in window[1:]:
        if not window_month.exists:
            continue
        join = join_previous if window_month.offset == 1 else "LEFT JOIN"
        alias = f"m{window_month.offset}"
        lines.append(
            f"{join} {window_month.relation} AS {alias} "
            f"ON {alias}.{CUSTOMER_ID_COLUMN} = m0.{CUSTOMER_ID_COLUMN}"
        )
    return "\n".join(lines)


def _change_columns(products: list[str], lags: int) -> list[tuple[str, FeatureColumn]]:
    """Return (expression, feature) pairs for each product's adds, drops and last change.

    Pair j compares month T-j-1 with month T-j (j = 1..L-1), so only months before T enter.
    """
    pairs = []
    pair_range = range(1, lags)
    for product in products:
        newer = {j: _lag(product, j) for j in pair_range}
        older = {j: _lag(product, j + 1) for j in pair_range}
        seen = " OR ".join(f"({older[j]} IS NOT NULL AND {newer[j]} IS NOT NULL)" for j in pair_range)
        adds = " + ".join(f"CASE WHEN {older[j]} = 0 AND {newer[j]} = 1 THEN 1 ELSE 0 END" for j in pair_range)
        drops = " + ".join(f"CASE WHEN {older[j]} = 1 AND {newer[j]} = 0 THEN 1 ELSE 0 END" for j in pair_range)
        # A comparison with null is never true, so only pairs of two known months can match.
        latest = " ".join(f"WHEN {older[j]} <> {newer[j]} THEN {j}" for j in pair_range)
        pairs.append((f"CASE WHEN {seen} THEN {adds} END", FeatureColumn(f"{product}_adds", NUMERIC)))
        pairs.append((f"CASE WHEN {seen} THEN {drops} END", FeatureColumn(f"{product}_drops", NUMERIC)))
        pairs.append((f"CASE {latest} END", FeatureColumn(f"{product}_months_since_change", NUMERIC)))
    return pairs


def _summary_columns(products: list[str], lags: int) -> list[tuple[str, FeatureColumn]]:
    """Return (expression, feature) pairs for the features over all products and months."""
    # Summed as INTEGER, because TINYINT arithmetic would overflow past 127 products.
    held_lag1 = " + ".join(f"CAST({_lag(product, 1)} AS INTEGER)" for product in products)
    pattern = ", ".join(f"CAST({_lag(product, 1)} AS STRING)" for product in products)
    first_seen = " ".join(f"WHEN present_lag{k} = 1 THEN {k}" for k in range(lags, 0, -1))
    present = " + ".join(f"present_lag{k}" for k in range(1, lags + 1))
    pairs = [(held_lag1, FeatureColumn("products_held_lag1", NUMERIC))]
    if lags >= 2:
        held_lag2 = " + ".join(f"CAST({_lag(product, 2)} AS INTEGER)" for product in products)
        pairs += [
            (held_lag2, FeatureColumn("products_held_lag2", NUMERIC)),
            (f"({held_lag1}) - ({held_lag2})", FeatureColumn("products_held_change", NUMERIC)),
            (" + ".join(f"{p}_adds" for p in products), FeatureColumn("products_added_window", NUMERIC)),
            (" + ".join(f"{p}_drops" for p in products), FeatureColumn("products_dropped_window", NUMERIC)),
        ]
    pairs += [
        # DuckDB's concat would turn the nulls of an absent customer into an empty string.
        (f"CASE WHEN present_lag1 = 1 THEN concat({pattern}) END", FeatureColumn("ownership_pattern_lag1", CATEGORICAL)),
        (f"CASE {first_seen} ELSE 0 END", FeatureColumn("months_since_first_seen", NUMERIC)),
        (present, FeatureColumn("months_present_window", NUMERIC)),
    ]
    return pairs


def feature_query(
    schema: SnapshotSchema,
    window: tuple[WindowMonth, ...],
    *,
    predict: bool,
    attributes: tuple[str, ...] | None = None,
) -> FeatureQuery:
    """Generate the query that builds the examples of one target month.

    Parameters
    ----------
    schema : SnapshotSchema
        Names the attributes and products of the snapshot relations.
    window : tuple of WindowMonth
        The target month T, then T-1 .. T-L, in that order. T and T-1 must exist.
    predict : bool
        Build T as a month to predict: keep customers without a T-1 row and leave the labels
        null. T's products are not read.
    attributes : tuple of str, optional
        Names of the attributes that become features; all of the schema's when None.

    Returns
    -------
    FeatureQuery
        The query text, ordered by customer id, and its feature columns. Its result has the
        columns ``customer_id``, ``month``, the features, ``owned_<product>`` and
        ``added_<product>``, in that order.
    """
    lags = len(window) - 1
    if lags < 1 or not window[0].exists or not window[1].exists:
        raise ValueError("the window needs the target month and the month before it")
    chosen = tuple(a for a in schema.attributes if attributes is None or a.name in attributes)
    products = schema.product_names

    own_columns = _attribute_columns(chosen, window[0].month) + _transition_columns(schema)
    change_columns = _change_columns(products, lags) if lags >= 2 else []
    summary_columns = _summary_columns(products, lags)
    summary_expressions = {feature.name: expression for expression, feature in summary_columns}

    # Feature order: attributes of T, transitions, each product's lags and changes, summaries.
    features = [feature for _, feature in own_columns]
    for product in products:
        features += [FeatureColumn(_lag(product, k), NUMERIC) for k in range(1, lags + 1)]
        own_changes = {f"{product}_adds", f"{product}_drops", f"{product}_months_since_change"}
        features += [feature for _, feature in change_columns if feature.name in own_changes]
    features += [feature for _, feature in summary_columns]
    _check_names(schema, features, lags)

    final_select = [CUSTOMER_ID_COLUMN, f"{_month_literal(window[0].month)} AS month"]
    for feature in features:
        expression = summary_expressions.get(feature.name)
        final_select.append(feature.name if expression is None else f"{expression} AS {feature.name}")
    final_select += [f"CAST(coalesce({_lag(p, 1)}, 0) AS TINYINT) AS owned_{p}" for p in products]
    final_select += [_label(p, predict) for p in products]
    changes_select = ["*"] + [f"{expression} AS {feature.name}" for expression, feature in change_columns]

    sql = "\n".join(
        [
            "WITH joined AS (",
            _joined_relation(schema, window, own_columns, predict),
            "),",
            "changes AS (",
            "SELECT\n    " + ",\n    ".join(changes_select),
            "FROM joined",
            ")",
            "SELECT\n    " + ",\n    ".join(final_select),
            "FROM changes",
            f"ORDER BY {CUSTOMER_ID_COLUMN}",
        ]
    )
    return FeatureQuery(sql=sql, features=tuple(features))


def _label(product: str, predict: bool) -> str:
    if predict:
        return f"CAST(NULL AS TINYINT) AS added_{product}"
    added = f"CASE WHEN target_{product} = 1 AND coalesce({_lag(product, 1)}, 0) = 0 THEN 1 ELSE 0 END"
    return f"CAST({added} AS TINYINT) AS added_{product}"


def _check_names(schema: SnapshotSchema, features: list[FeatureColumn], lags: int) -> None:
    """Raise NextbestError when a column name of the examples is unusable or used twice."""
    products = schema.product_names
    names = [CUSTOMER_ID_COLUMN, "month", *(f.name for f in features)]
    names += [f"owned_{p}" for p in products] + [f"added_{p}" for p in products]
    # Column names that the joined relation uses for itself.
    reserved = {f"present_lag{k}" for k in range(1, lags + 1)} | {f"target_{p}" for p in products}
    seen: set[str] = set()
    for name in names:
        if not (name.isidentifier() and name.isascii()):
            raise NextbestError(
                f"column name {name!r} cannot be used in the feature SQL; rename the attribute or "
                "product in the schema to letters, digits and underscores"
            )
        if name in seen or name in reserved:
            raise NextbestError(
                f"the examples would have two columns named {name!r}; rename the attribute or product "
                "of that name in the schema"
            )
        seen.add(name)
