"""Score one month with a saved model, without retraining: what ``nextbest recommend`` does."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest.banking.example_arrays import example_arrays
from nextbest.banking.features import build_examples, load_examples
from nextbest.banking.recommend import recommendation_table
from nextbest.banking.recommender_model import RecommenderModel
from nextbest.banking.submission import write_submission
from nextbest.banking.workspace import Workspace, check_month
from nextbest.errors import NextbestError
from nextbest._files import replaced_on_success

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WrittenRecommendations:
    """The file `recommend_month` wrote and how many customers it covers."""

    path: Path
    customers: int


def recommend_month(model_dir, workspace_dir, month: str, out, *, top_k: int = 7, progress: Progress | None = None) -> WrittenRecommendations:
    """Build `month`'s examples with the model's feature settings, score them and write the ranking.

    Every customer of the month is scored, including customers with no row in the month before
    (they get the popularity ranking), because the month is built as a month to predict.

    Parameters
    ----------
    model_dir : path
        A run's ``model/`` directory.
    workspace_dir : path
        The workspace holding `month` and the months of history the features need.
    month : str
        ``YYYY-MM``.
    out : path
        ``.parquet`` writes a recommendations table (customer_id, rank, product, score);
        ``.csv`` writes the competition's submission format.
    top_k : int, default 7

    Raises
    ------
    NextbestError
        For an unknown output format, a model directory that is not one, a month with products
        (it is not a month to predict), or a month the workspace cannot build.
    """
    out = Path(out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise NextbestError(f"invalid output file {out}: its name must end in .parquet or .csv")
    check_month(month)
    model = RecommenderModel.load(model_dir)
    workspace = Workspace(workspace_dir)
    if list(model.products) != workspace.schema.product_names:
        raise NextbestError(
            f"the model's products {model.products} differ from the workspace's {workspace.schema.product_names}; "
            "use the workspace the model was trained on, or one ingested with the same schema"
        )

    if month in workspace.labelled_months():
        # Building it as a month to predict would overwrite its labelled examples with unlabelled
        # ones, and later runs and `nextbest features` users read those examples.
        raise NextbestError(
            f"month {month} has products in workspace {workspace_dir}, so it is not a month to predict; "
            f"`nextbest recommend` scores months to predict ({', '.join(workspace.months_to_predict()) or 'none in this workspace'}). "
            f"To see how the model ranks {month}, run `nextbest run --workspace {workspace_dir} --validation-month {month}` "
            "and read validation_recommendations.parquet"
        )
    build_examples(workspace, [month], settings=model.feature_settings, predict_months=[month], progress=progress)
    data = example_arrays(load_examples(workspace, [month]), model.features, model.products)
    table = recommendation_table(data.customer_ids, model.score(data), data.owned, model.products, top_k)

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        write_submission(table, workspace.schema, out, data.customer_ids)
    else:
        with replaced_on_success(out) as temporary:
            pq.write_table(table, temporary)
    logger.info("scored %d customers of %s with the model in %s", len(data), month, model_dir)
    return WrittenRecommendations(path=out, customers=len(data))
