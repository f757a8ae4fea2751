"""Loading a recommender model of `nextbest run` as a generic model points to `nextbest recommend`."""

from __future__ import annotations

import pytest

from nextbest.errors import NextbestError
from nextbest.multilabel.saving import load_model


def test_recommender_model_points_to_recommend(tmp_path):
    model = tmp_path / "runs" / "latest" / "model"
    (model / "network").mkdir(parents=True)
    (model / "recommender.json").write_text("{}", encoding="utf-8")

    with pytest.raises(NextbestError) as raised:
        load_model(model)

    message = str(raised.value)
    assert "is a recommender model written by `nextbest run`" in message
    assert f"nextbest recommend --model {model}" in message
    assert "not a nextbest model directory" not in message


def test_other_directory_is_not_a_model(tmp_path):
    with pytest.raises(NextbestError, match="is not a nextbest model directory"):
        load_model(tmp_path)
