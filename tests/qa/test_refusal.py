"""The refusal model: fitting, thresholds and its stored form."""

from __future__ import annotations

import numpy as np
import pytest

from qa.refusal import DEFAULT_REFUSAL, FEATURES, RefusalModel, fit_refusal


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
    assert RefusalModel.from_dict(DEFAULT_REFUSAL.to_dict()) == DEFAULT_REFUSAL
    assert DEFAULT_REFUSAL.to_dict()["features"] == list(FEATURES)
    stale = {**DEFAULT_REFUSAL.to_dict(), "features": ["dense", "known_terms"]}
    with pytest.raises(ValueError, match="are not"):
        RefusalModel.from_dict(stale)


def test_probability_grows_with_the_scores() -> None:
    low, high = DEFAULT_REFUSAL.probability([0.1, 0.1]), DEFAULT_REFUSAL.probability([0.7, 0.8])
    assert 0 < low < DEFAULT_REFUSAL.threshold < high < 1
