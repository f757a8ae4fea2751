"""The model a run saves: the network plus what is needed to score a new month the same way.

A model directory (``DIR/runs/<run id>/model/``) holds ``network/``, the `MultiLabelNet`, and
``recommender.json``: the feature settings and feature columns the examples must be built with,
the product short names in the network's label order, the popularity counts used for customers
without history, the months the model was trained on, and whether it is the retrained model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nextbest.banking.baselines import PopularityRanker
from nextbest.banking.example_arrays import ExampleArrays
from nextbest.banking.features_manifest import FeatureSettings
from nextbest.banking.features_sql import FeatureColumn
from nextbest.banking.recommend import with_popularity_fallback
from nextbest.errors import NextbestError

RECOMMENDER_FILE = "recommender.json"
NETWORK_DIR = "network"
FORMAT_VERSION = 1


@dataclass
class RecommenderModel:
    """A trained network with its feature settings, products and popularity fallback."""

    network: object
    feature_settings: FeatureSettings
    features: tuple[FeatureColumn, ...]
    products: list[str]
    popularity: PopularityRanker
    training_months: list[str] = field(default_factory=list)
    retrained: bool = False

    def score(self, examples: ExampleArrays) -> np.ndarray:
        """Return the (n_rows, n_products) scores; customers without history get popularity.

        Owned products are not removed here; the ranking excludes them.
        """
        scores = self.network.predict_proba(examples.X) if len(examples) else np.empty((0, len(self.products)))
        popular = self.popularity.predict_proba(np.empty((1, 0)))[0]
        return with_popularity_fallback(scores, examples.no_history, popular)

    def save(self, path: str | Path) -> Path:
        """Write the model directory; `path` must not exist yet or be an empty directory."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.network.save(path / NETWORK_DIR)
        description = {
            "format_version": FORMAT_VERSION,
            "feature_settings": self.feature_settings.to_dict(),
            "features": [{"name": f.name, "kind": f.kind} for f in self.features],
            "products": list(self.products),
            "popularity": self.popularity.to_dict(),
            "training_months": list(self.training_months),
            "retrained": self.retrained,
        }
        (path / RECOMMENDER_FILE).write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "RecommenderModel":
        """Read a model directory written by :meth:`save`.

        Raises
        ------
        NextbestError
            When `path` is not such a directory or was written in another format.
        """
        from nextbest.multilabel import MultiLabelNet

        path = Path(path)
        description_file = path / RECOMMENDER_FILE
        if not description_file.is_file():
            raise NextbestError(
                f"{path} is not a nextbest recommender model ({RECOMMENDER_FILE} not found); "
                "pass the model/ directory of a run, for example DIR/runs/latest/model"
            )
        try:
            description = json.loads(description_file.read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:
            raise NextbestError(
                f"{description_file} is not readable JSON ({error}); run `nextbest run` again to write the model, "
                "or copy the whole model directory again"
            ) from error
        if description.get("format_version") != FORMAT_VERSION:
            raise NextbestError(
                f"{description_file} has format version {description.get('format_version')!r}; this nextbest "
                f"reads version {FORMAT_VERSION}. Run `nextbest run` again to train a model with this version"
            )
        return cls(
            network=MultiLabelNet.load(path / NETWORK_DIR),
            feature_settings=FeatureSettings.from_dict(description["feature_settings"]),
            features=tuple(FeatureColumn(f["name"], f["kind"]) for f in description["features"]),
            products=list(description["products"]),
            popularity=PopularityRanker.from_dict(description["popularity"]),
            training_months=list(description["training_months"]),
            retrained=bool(description["retrained"]),
        )
