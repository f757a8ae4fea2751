"""The feature settings and the manifest of a workspace's examples (``DIR/examples/manifest.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nextbest import __version__
from nextbest.banking.features_sql import CATEGORICAL, NUMERIC, FeatureColumn
from nextbest.banking.workspace import write_json_atomic
from nextbest.errors import NextbestError

EXAMPLES_DIR = "examples"
MANIFEST_FILE = "manifest.json"

# Version of the feature definitions. Raise it whenever a feature's meaning changes, so that a
# saved model rejects examples built by another definition instead of scoring them wrongly.
FEATURES_VERSION = 1

# Version of the layout of manifest.json.
MANIFEST_FORMAT_VERSION = 1


@dataclass(frozen=True)
class FeatureSettings:
    """Options of the feature step, saved with a model so that new months get the same features.

    Parameters
    ----------
    lags : int, default 5
        Number of months before the target month whose products become features (T-1 .. T-L).
    attributes : tuple of str or None, default None
        Attributes of the schema that become features; every attribute when None.
    """

    lags: int = 5
    attributes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.lags, bool) or not isinstance(self.lags, int) or self.lags < 1:
            raise NextbestError(f"invalid number of lags {self.lags!r}; expected a whole number of months, 1 or more")
        if self.attributes is not None:
            object.__setattr__(self, "attributes", tuple(str(name) for name in self.attributes))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-compatible data; `from_dict` reads it back."""
        return {
            "features_version": FEATURES_VERSION,
            "lags": self.lags,
            "attributes": None if self.attributes is None else list(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSettings:
        """Build settings from the output of `to_dict`.

        Raises
        ------
        NextbestError
            When the data has unknown keys or comes from another version of the features.
        """
        unknown = set(data) - {"features_version", "lags", "attributes"}
        if unknown:
            raise NextbestError(f"unknown feature settings {sorted(unknown)}; expected features_version, lags, attributes")
        version = data.get("features_version")
        if version != FEATURES_VERSION:
            raise NextbestError(
                f"the feature settings are of features version {version!r}, but this nextbest ({__version__}) "
                f"builds version {FEATURES_VERSION}; train the model again with this version"
            )
        attributes = data.get("attributes")
        return cls(lags=data.get("lags", 5), attributes=None if attributes is None else tuple(attributes))


@dataclass
class Manifest:
    """The contents of ``DIR/examples/manifest.json``.

    Attributes
    ----------
    settings : FeatureSettings
        Settings every example file of the workspace was built with.
    features : tuple of FeatureColumn
        Feature columns of the example files, in order, each ``numeric`` or ``categorical``.
    products : tuple of str
        Product short names, the suffixes of the ``owned_`` and ``added_`` columns.
    months : dict of str to dict
        Per built target month: ``file``, ``predict``, ``customers``, ``customers_adding``,
        ``additions``, ``customers_without_history``, ``null_products``, ``built_at``.
    """

    settings: FeatureSettings
    features: tuple[FeatureColumn, ...]
    products: tuple[str, ...]
    months: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON-compatible data."""
        return {
            "format_version": MANIFEST_FORMAT_VERSION,
            "nextbest_version": __version__,
            "settings": self.settings.to_dict(),
            "features": [{"name": f.name, "kind": f.kind} for f in self.features],
            "products": list(self.products),
            "months": {month: self.months[month] for month in sorted(self.months)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> Manifest:
        """Read a manifest from the output of `to_dict`; `path` names the file in errors."""
        if data.get("format_version") != MANIFEST_FORMAT_VERSION:
            raise NextbestError(
                f"{path} has manifest format version {data.get('format_version')!r}; this nextbest reads "
                f"version {MANIFEST_FORMAT_VERSION}. Build the examples again with `nextbest features`"
            )
        features = []
        for item in data["features"]:
            if item.get("kind") not in (NUMERIC, CATEGORICAL):
                raise NextbestError(f"{path}: feature {item.get('name')!r} has the invalid kind {item.get('kind')!r}")
            features.append(FeatureColumn(item["name"], item["kind"]))
        return cls(
            settings=FeatureSettings.from_dict(data["settings"]),
            features=tuple(features),
            products=tuple(data["products"]),
            months=dict(data["months"]),
        )


def examples_dir(workspace_path: Path) -> Path:
    """Return the directory of a workspace's example files."""
    return Path(workspace_path) / EXAMPLES_DIR


def read_manifest(workspace_path: Path) -> Manifest | None:
    """Read a workspace's examples manifest, or return None when no examples were built.

    Raises
    ------
    NextbestError
        When the manifest exists but cannot be read.
    """
    path = examples_dir(workspace_path) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise NextbestError(f"{path} is not valid JSON ({error}); build the examples again with `nextbest features`") from None
    try:
        return Manifest.from_dict(data, path)
    except (KeyError, TypeError) as error:
        raise NextbestError(f"{path} lacks or mistypes the entry {error}; build the examples again with `nextbest features`") from None


def write_manifest(workspace_path: Path, manifest: Manifest) -> Path:
    """Write the manifest atomically and return its path."""
    path = examples_dir(workspace_path) / MANIFEST_FILE
    write_json_atomic(path, manifest.to_dict())
    return path
