"""The refusal model: fitting, thresholds and its stored form."""

from __future__ import annotations

import numpy as np
import pytest

from index.corpus import Corpus
from qa.refusal import (
    ANSWER_FEATURES,
    ANSWER_REFUSAL_KEY,
    DEFAULT_ANSWER_REFUSAL,
    DEFAULT_REFUSAL,
    FEATURES,
    REFUSAL_KEY,
    RefusalModel,
    fit_refusal,
    refusal_features,
    refusal_key,
)
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder


def synthetic(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    answerable = rng.normal([0.6, 0.7], 0.08, size=(400, 2))
    unanswerable = rng.normal([0.2, 0.3], 0.08, size=(400, 2))
    return answerable, unanswerable


def test_fit_separates_and_bounds_false_refusals() -> None:
    answerable, unanswerable = synthetic(0)
    model = fit_refusal(answerable, unanswerable, max_false_refusals=0.05)
    assert all(w > 0 for w in model.weights)
    refused_in = np.mean([not model.answers(f) for f in answerable])
    assert refused_in <= 0.05
    test_in, test_out = synthetic(1)
    assert np.mean([not model.answers(f) for f in test_out]) > 0.95
    assert np.mean([not model.answers(f) for f in test_in]) < 0.1


def test_lower_allowance_lowers_the_threshold() -> None:
    answerable, unanswerable = synthetic(2)
    strict = fit_refusal(answerable, unanswerable, max_false_refusals=0.01)
    loose = fit_refusal(answerable, unanswerable, max_false_refusals=0.2)
    assert strict.threshold < loose.threshold


def test_round_trip_and_mismatched_features() -> None:
    for model, names in ((DEFAULT_REFUSAL, FEATURES), (DEFAULT_ANSWER_REFUSAL, ANSWER_FEATURES)):
        assert RefusalModel.from_dict(model.to_dict()) == model
        assert model.to_dict()["features"] == list(names)
        assert len(model.weights) == len(names)
    assert refusal_key(FEATURES) == REFUSAL_KEY
    assert refusal_key(ANSWER_FEATURES) == ANSWER_REFUSAL_KEY
    stale = {**DEFAULT_REFUSAL.to_dict(), "features": ["dense", "known_terms"]}
    with pytest.raises(ValueError, match="are neither"):
        RefusalModel.from_dict(stale)
    short = {**DEFAULT_ANSWER_REFUSAL.to_dict(), "weights": [1.0, 2.0]}
    with pytest.raises(ValueError, match="2 weights for 5 features"):
        RefusalModel.from_dict(short)


def test_a_fit_names_the_features_it_was_fitted_on() -> None:
    answerable, unanswerable = synthetic(3)
    five = np.hstack([answerable, answerable[:, :1], answerable, 5 + answerable[:, :1]])
    out = np.hstack([unanswerable, unanswerable[:, :1], unanswerable, -5 + unanswerable[:, :1]])
    model = fit_refusal(five[:, :5], out[:, :5], features=ANSWER_FEATURES)
    assert model.features == ANSWER_FEATURES
    assert RefusalModel.from_dict(model.to_dict()) == model


def test_probability_grows_with_the_scores() -> None:
    low = DEFAULT_REFUSAL.probability([0.1, 0.1, 0.0, 0.0])
    high = DEFAULT_REFUSAL.probability([0.7, 0.8, 0.5, 1.0])
    assert 0 < low < DEFAULT_REFUSAL.threshold < high < 1


def test_features_read_the_first_passage_and_the_corpus_centre(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    retriever = Retriever(embedder)
    snapshot = corpus.snapshot
    query = retriever.encode("sourdough wild yeast flour qwzxv")
    hits = retriever.search(snapshot, query, 3)
    assert hits[0].article.id == "bread"
    dense, sentence, centroid, share = refusal_features(snapshot, query, hits)
    assert dense == max(h.dense or 0.0 for h in hits)
    assert sentence == max(h.sentence or 0.0 for h in hits)
    assert centroid == pytest.approx(float(snapshot.centroid @ query.vector))
    # Every word the corpus knows is in the first passage; the unknown one is left out.
    assert share == 1.0
    mixed = retriever.encode("sourdough yeast chess final")
    mixed_hits = retriever.search(snapshot, mixed, 3)
    lexical = snapshot.lexical
    first = mixed_hits[0].passage.text.lower()
    held = sum(lexical.idf(t) for t in mixed.terms if t[:4] in first)
    expected = held / sum(lexical.idf(t) for t in mixed.terms)
    assert 0 < expected < 1
    assert refusal_features(snapshot, mixed, mixed_hits)[3] == pytest.approx(expected)
    assert refusal_features(snapshot, mixed, [])[3] == 0.0
