"""Choose the months a run trains on, validates on and predicts, and the training population."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from nextbest.banking.features import shift_month
from nextbest.banking.workspace import Workspace, check_month
from nextbest.errors import NextbestError

logger = logging.getLogger(__name__)

# Months before the validation month that a run trains on when no training months are given.
DEFAULT_TRAINING_MONTHS = 3


@dataclass(frozen=True)
class RunMonths:
    """The months of one run, each ``YYYY-MM``.

    Attributes
    ----------
    training : list of str
        Target months whose examples train the models.
    validation : str
        The month the models are evaluated on.
    predict : str
        The month recommendations are made for.
    predict_carried : bool
        True when no file of the month to predict was ingested, so its snapshot is the last
        labelled month's customers and attributes carried forward one month.
    retraining : list of str
        Target months of the retrained model: the training months, the validation month and
        every labelled month after it whose month before is labelled too.
    """

    training: list[str]
    validation: str
    predict: str
    predict_carried: bool
    retraining: list[str]


def parse_month_range(text: str) -> list[str]:
    """Return the months of ``YYYY-MM..YYYY-MM`` (both ends included), or of one ``YYYY-MM``."""
    first, _, last = text.partition("..")
    first = check_month(first.strip())
    last = check_month(last.strip()) if last else first
    if last < first:
        raise NextbestError(f"invalid month range {text!r}: it ends before it starts; write it as EARLIER..LATER")
    months = [first]
    while months[-1] < last:
        months.append(shift_month(months[-1], 1))
    return months


def choose_months(workspace: Workspace, validation_month: str | None, training_months: str | None) -> RunMonths:
    """Check the requested months against the workspace, filling in the defaults.

    Defaults: the validation month is the last labelled month; the month to predict is the
    last month of a test-layout file, or else the month after the last labelled month; the
    training months are the `DEFAULT_TRAINING_MONTHS` months before the validation month, plus
    the same calendar month a year before the month to predict when the workspace holds it and
    its month before. Training months without a month before them are left out with a warning.

    Raises
    ------
    NextbestError
        When the validation month is not labelled or has no labelled month before it, when a
        training month is not before the validation month, or when no training month is left.
    """
    labelled = workspace.labelled_months()
    if len(labelled) < 2:
        raise NextbestError(
            f"workspace {workspace.path} contains {len(labelled)} month(s) with products ({', '.join(labelled) or 'none'}); "
            "a run needs at least three consecutive months: training, validation and the month before each"
        )
    validation = _check_validation(validation_month or labelled[-1], labelled)
    # A month derived from the last labelled month by an earlier run is derived again, because
    # that month may have been replaced since (new customers, corrected rows).
    carried = set(workspace.carried_forward_months())
    to_predict = [month for month in workspace.months_to_predict() if month not in carried]
    predict = to_predict[-1] if to_predict else shift_month(labelled[-1], 1)

    if training_months is None:
        requested = [shift_month(validation, -offset) for offset in range(DEFAULT_TRAINING_MONTHS, 0, -1)]
        seasonal = shift_month(predict, -12)
        if seasonal in labelled and shift_month(seasonal, -1) in labelled and seasonal not in requested:
            requested.insert(0, seasonal)
        requested = [month for month in requested if month in labelled]
    else:
        requested = parse_month_range(training_months)
        _check_requested(requested, validation, labelled)
    training = _with_history(requested, labelled)
    if not training:
        raise NextbestError(
            f"no training month before the validation month {validation} has a labelled month before it "
            f"(labelled months: {', '.join(labelled)}); ingest earlier months or choose a later --validation-month"
        )
    later = [month for month in labelled if month > validation and shift_month(month, -1) in labelled]
    return RunMonths(
        training=training,
        validation=validation,
        predict=predict,
        predict_carried=not to_predict,
        retraining=training + [validation] + later,
    )


def _check_validation(validation: str, labelled: list[str]) -> str:
    check_month(validation)
    if validation not in labelled:
        raise NextbestError(
            f"validation month {validation} has no products in the workspace; choose one of: {', '.join(labelled)}"
        )
    before = shift_month(validation, -1)
    if before not in labelled:
        raise NextbestError(
            f"validation month {validation} has no month before it ({before}) in the workspace, so its additions "
            f"are unknown; choose a later month (labelled months: {', '.join(labelled)}) or ingest {before}"
        )
    return validation


def _check_requested(requested: list[str], validation: str, labelled: list[str]) -> None:
    late = [month for month in requested if month >= validation]
    if late:
        raise NextbestError(
            f"training months must come before the validation month {validation}; received {', '.join(late)}. "
            "Training on the validation month would make its metrics meaningless"
        )
    absent = [month for month in requested if month not in labelled]
    if absent:
        raise NextbestError(
            f"training months {', '.join(absent)} have no products in the workspace; labelled months: {', '.join(labelled)}"
        )


def _with_history(requested: list[str], labelled: list[str]) -> list[str]:
    kept = []
    for month in requested:
        if shift_month(month, -1) in labelled:
            kept.append(month)
        else:
            logger.warning(
                "training month %s is left out: the workspace has no products for %s, the month before it, "
                "so nobody's additions in %s are known",
                month,
                shift_month(month, -1),
                month,
            )
    return kept


def history_warnings(months: list[str], labelled: list[str], lags: int) -> list[str]:
    """Return one message per month whose product lags reach before the workspace's first month.

    The message names the null lags and the largest ``--lags`` that every month given has in
    full, because a model trained on null lags meets known ones in later months. A month
    without its month before (lag 1) gets no message: building its examples fails with its
    own error, and no ``--lags`` value would help.
    """
    first = labelled[0] if labelled else None
    if first is None:
        return []
    buildable = [month for month in months if shift_month(month, -1) >= first]
    full_window = min((_months_between(first, month) for month in buildable), default=lags)
    messages = []
    for month in buildable:
        missing = [k for k in range(1, lags + 1) if shift_month(month, -k) < first]
        if missing:
            span = f"lag {missing[0]} is" if len(missing) == 1 else f"lags {missing[0]}..{missing[-1]} are"
            messages.append(
                f"target month {month}: product {span} null (months before {first}) "
                f"for every customer, because the workspace starts later; --lags {full_window} gives "
                "every month of the run its full history"
            )
    return messages


def check_month_to_predict(months: RunMonths, labelled: list[str]) -> None:
    """Raise NextbestError when the month of the --test file has no labelled month before it.

    Its examples need the products of the month before. `nextbest run` has no option to choose
    another month to predict, so the advice names the files that close the gap instead.
    """
    before = shift_month(months.predict, -1)
    if months.predict_carried or before in labelled:
        return
    after_last = shift_month(labelled[-1], 1)
    gap = f"file of {after_last}" if after_last == before else f"files of {after_last}..{before}"
    raise NextbestError(
        f"the month to predict, {months.predict} (the month of the --test file), needs the products of the "
        f"month before ({before}), but the months with products end at {labelled[-1]}. Pass the bank's "
        f"training-layout {gap} with --train, or use a new --workspace with the test file of "
        f"{after_last}, the month after the last month with products"
    )


def _months_between(first: str, month: str) -> int:
    return (int(month[:4]) - int(first[:4])) * 12 + int(month[5:7]) - int(first[5:7])


def sample_population(Y: np.ndarray, max_rows: int | None, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Choose the training rows: every row that adds a product plus a uniform sample of the others.

    When there are at most `max_rows` rows (or `max_rows` is None) every row is kept with
    weight 1. Otherwise the rows adding nothing are sampled at the rate that fills `max_rows`,
    and each sampled row gets weight 1 / rate, so that weighted sums over the sample estimate
    sums over all rows.

    Returns
    -------
    rows : ndarray of int64
        Sorted row indices.
    weights : ndarray of float64
        One weight per kept row.
    """
    n_rows = len(Y)
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows), np.ones(n_rows)
    adding = np.asarray(Y).any(axis=1)
    others = np.flatnonzero(~adding)
    room = max(max_rows - int(adding.sum()), 0)
    rate = min(room / len(others), 1.0) if len(others) else 1.0
    rng = np.random.default_rng(random_state)
    chosen = others[rng.random(len(others)) < rate] if rate > 0 else others[:0]
    rows = np.sort(np.concatenate([np.flatnonzero(adding), chosen]))
    weights = np.where(adding[rows], 1.0, 1.0 / rate if rate > 0 else 1.0)
    logger.info("training population: %d adding rows and %d of %d other rows (rate %.3f)", adding.sum(), len(chosen), len(others), rate)
    return rows, weights
