"""Baselines that the network is measured against: popularity and one LightGBM model per product.

Both follow the network's interface as the pipeline uses it: ``fit(X, Y, owned, sample_weight)``
and ``predict_proba(X)`` returning one score per (row, product). Ranking and the exclusion of
owned products happen later, in the same code for every model.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from rich.progress import Progress

logger = logging.getLogger(__name__)

# Attribute tags whose attributes the LightGBM baseline reads, beside the product lags: on
# Santander, age, antiguedad, renta, segmento, sexo, canal_entrada, ind_actividad_cliente,
# tiprel_1mes and nomprov.
BASELINE_ATTRIBUTE_TAGS = ("age", "seniority", "income", "segment", "sex", "channel", "activity", "relation_type", "province")


def baseline_features(feature_names, schema) -> list[str]:
    """Return the features of the LightGBM baseline: the product lags and nine profile attributes.

    These are the features of the reference baseline that the network is measured against.
    The baseline leaves out the summaries of the product history that the examples also carry
    (adds, drops, months since a change, the ownership pattern, presence counts). They are
    computed over the lag window, which training months near the start of the data see only in
    part, so they shift between training and validation. LightGBM ranked worse with them on the
    real Santander panel (docs/benchmarks.md).
    """
    attributes = {a.name for a in schema.attributes if a.tag in BASELINE_ATTRIBUTE_TAGS}
    lag = re.compile("^(" + "|".join(re.escape(p) for p in schema.product_names) + r")_lag[0-9]+$")
    return [name for name in feature_names if name in attributes or lag.match(name)]


class PopularityRanker:
    """Rank products by how often they were added in the training examples.

    Every customer gets the same scores: the (weighted) count of additions of each product.
    The count looks only at customers who could add the product, that is who did not own it in
    the month before, which is every customer whose ``added_<product>`` is 1.

    Attributes
    ----------
    additions_ : ndarray of shape (n_products,)
        Weighted number of additions per product seen in `fit`.
    """

    def fit(self, X, Y, owned=None, sample_weight=None) -> "PopularityRanker":
        """Count the additions of each product; `X` and `owned` are accepted for a common call."""
        labels = np.asarray(Y, dtype=np.float64)
        if labels.ndim != 2:
            raise ValueError(f"Y must be 2-D (n_samples, n_products); received shape {labels.shape}.")
        weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, float)
        self.additions_ = weights @ labels
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Return the addition counts, normalised to sum to 1, repeated for each row of `X`."""
        total = self.additions_.sum()
        shares = self.additions_ / total if total > 0 else self.additions_
        return np.tile(shares, (len(X), 1))

    def to_dict(self) -> dict:
        """Return the fitted counts as a JSON-ready dictionary."""
        return {"additions": [float(value) for value in self.additions_]}

    @classmethod
    def from_dict(cls, state: dict) -> "PopularityRanker":
        """Rebuild a fitted ranker from :meth:`to_dict`'s output."""
        ranker = cls()
        ranker.additions_ = np.asarray(state["additions"], dtype=np.float64)
        return ranker


class LightGBMRanker:
    """One LightGBM binary classifier per product, each trained on customers not owning it.

    A product held in the month before cannot be added, so those rows teach nothing about
    adding it and are left out of its classifier. A product never added in the training rows
    gets no classifier and a score of 0.

    Parameters
    ----------
    n_estimators : int, default 200
    learning_rate : float, default 0.05
    num_leaves : int, default 31
    n_jobs : int, default 2
        Products trained at the same time, each on one thread.
    random_state : int, default 0
    features : list of str or None, default None
        Columns of `X` that the classifiers read; every column when None.
    """

    def __init__(self, n_estimators=200, learning_rate=0.05, num_leaves=31, n_jobs=2, random_state=0, features=None):
        self.features = None if features is None else list(features)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, Y, owned, sample_weight=None, *, progress: Progress | None = None):
        """Train one classifier per product on the rows where `owned` is 0.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_features)
            Categorical columns carry the pandas ``category`` dtype.
        Y : array of shape (n_samples, n_products)
            1 where the product was added.
        owned : array of shape (n_samples, n_products)
            1 where the product was held in the month before.
        sample_weight : array of shape (n_samples,), optional
        progress : rich.progress.Progress, optional
        """
        labels = np.asarray(Y)
        held = np.asarray(owned).astype(bool)
        if held.shape != labels.shape or len(X) != len(labels):
            raise ValueError(
                f"X, Y and owned must have one row per example and Y and owned one column per product; "
                f"received {len(X)} rows of X, Y of shape {labels.shape} and owned of shape {held.shape}."
            )
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        X = self._columns(X)
        task = progress.add_task("LightGBM per product", total=labels.shape[1]) if progress else None

        # Products train in parallel threads, each model on one thread: LightGBM releases the GIL,
        # and unlike its own OpenMP threads, one thread per model does not slow down sharply
        # when other processes compete for the same cores.
        jobs = (delayed(self._fit_product)(X, labels[:, j], ~held[:, j], weights) for j in range(labels.shape[1]))
        self.models_: list = []
        for model in Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(jobs):
            self.models_.append(model)
            if progress is not None:
                progress.advance(task)
        logger.info("LightGBM: trained %d of %d products", sum(m is not None for m in self.models_), len(self.models_))
        return self

    def _columns(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.features is None:
            return X
        missing = [name for name in self.features if name not in X.columns]
        if missing:
            raise ValueError(
                f"X lacks {len(missing)} of the baseline's features, for example {missing[:5]}; "
                "pass features that are columns of X."
            )
        return X[self.features]

    def _fit_product(self, X: pd.DataFrame, labels: np.ndarray, rows: np.ndarray, weights: np.ndarray | None):
        """Train the classifier of one product on `rows`; None when its labels are all equal there."""
        import lightgbm

        target = labels[rows]
        if target.sum() == 0 or target.sum() == len(target):
            return None
        model = lightgbm.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            n_jobs=1,
            random_state=self.random_state,
            verbose=-1,
        )
        return model.fit(X[rows], target, sample_weight=None if weights is None else weights[rows])

    def predict_proba(self, X: pd.DataFrame, owned=None) -> np.ndarray:
        """Return the probability of adding each product, 0 for products without a classifier.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_features)
        owned : array of shape (n_samples, n_products), optional
            1 where the product was held in the month before. Those entries are not scored and
            read 0: a held product cannot be added, and rankings exclude it anyway. Leaving them
            out saves much of the scoring time, since most customers hold the common products.
        """
        scores = np.zeros((len(X), len(self.models_)))
        if not len(X):
            return scores
        held = np.zeros(scores.shape, dtype=bool) if owned is None else np.asarray(owned).astype(bool)
        if held.shape != scores.shape:
            raise ValueError(f"owned must have shape {scores.shape}, one column per product; received {held.shape}.")
        X = self._columns(X)

        def score(j: int) -> tuple[int, np.ndarray, np.ndarray]:
            rows = np.flatnonzero(~held[:, j])
            return j, rows, self.models_[j].predict_proba(X.iloc[rows])[:, 1]

        # One thread per product at a time, as in fit; LightGBM releases the GIL while it predicts.
        products = [j for j, model in enumerate(self.models_) if model is not None and (~held[:, j]).any()]
        jobs = (delayed(score)(j) for j in products)
        for j, rows, values in Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(jobs):
            scores[rows, j] = values
        return scores
