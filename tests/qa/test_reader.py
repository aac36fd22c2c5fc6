"""The answer model's runtime: pair encoding, span decoding, the shipped file and its hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import ModelError
from qa.reader import MODEL_DIR, AnswerModel, best_spans, encode_pairs, load_tokenizer


@pytest.fixture(scope="module")
def model() -> AnswerModel:
    return AnswerModel()


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return load_tokenizer(MODEL_DIR / "tokenizer.json")


def test_sentence_tokens_carry_offsets_into_the_sentence(tokenizer: object) -> None:
    sentences = ["Jiang Zaidong is China's ambassador.", "It rained."]
    pairs = encode_pairs(tokenizer, "Who is the ambassador?", sentences)
    for row, sentence in enumerate(sentences):
        inside = pairs.offsets[row][pairs.in_sentence[row]]
        assert len(inside) > 0
        pieces = [sentence[a:b] for a, b in inside]
        assert all(pieces)
        assert "".join(pieces).lower() == sentence.replace(" ", "").lower()
    # The question's tokens and the padding are not sentence tokens.
    assert not pairs.in_sentence[1][: pairs.attention_mask[1].sum() - len(inside) - 1].any()


def test_best_span_is_the_highest_start_plus_end_inside_the_sentence(tokenizer: object) -> None:
    sentence = "The treaty was signed in Paris in 1951 by six states."
    pairs = encode_pairs(tokenizer, "Where was it signed?", [sentence])
    t = pairs.input_ids.shape[1]
    start, end = np.zeros((1, t)), np.zeros((1, t))
    tokens = [j for j in range(t) if pairs.in_sentence[0][j]]
    paris = next(j for j in tokens if sentence[slice(*pairs.offsets[0][j])] == "Paris")
    start[0, paris], end[0, paris] = 5.0, 5.0
    start[0, 0] = end[0, 0] = 50.0  # [CLS] is not a sentence token, however high it scores
    end[0, tokens[0]] = 9.0  # an end before the start is not a span
    (a, b, score) = best_spans(start, end, pairs)[0]
    assert sentence[a:b] == "Paris"
    assert score == 10.0


def test_answer_length_is_capped(tokenizer: object) -> None:
    sentence = " ".join(f"w{i}" for i in range(40))
    pairs = encode_pairs(tokenizer, "q?", [sentence])
    t = pairs.input_ids.shape[1]
    tokens = [j for j in range(t) if pairs.in_sentence[0][j]]
    start, end = np.zeros((1, t)), np.zeros((1, t))
    start[0, tokens[0]] = end[0, tokens[-1]] = 10.0
    a, b, _ = best_spans(start, end, pairs, max_tokens=4)[0]
    covered = [j for j in tokens if a <= pairs.offsets[0][j][0] < b]
    assert 1 <= len(covered) <= 4


def test_the_shipped_model_finds_the_sentence_that_answers_and_the_answer(
    model: AnswerModel,
) -> None:
    sentences = [
        "Paris is the capital of France and its largest city.",
        "Emmanuel Macron has been the president of France since 2017.",
        "The weather in Lyon was cold on Tuesday.",
    ]
    judged = model.judge("Who is the president of France?", sentences)
    best = max(range(3), key=lambda i: judged[i].score)
    assert best == 1
    assert judged[1].score > 0 > judged[2].score
    assert sentences[1][judged[1].start : judged[1].end] == "Emmanuel Macron"
    assert model.judge("Who?", []) == []


def test_a_damaged_model_file_is_refused_by_its_hash(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match=r"model\.onnx does not match its sha256"):
        AnswerModel(copy)


def test_a_missing_model_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="meta.json is missing"):
        AnswerModel(tmp_path)
    shutil.copy(MODEL_DIR / "meta.json", tmp_path / "meta.json")
    with pytest.raises(ModelError, match="model.onnx is missing"):
        AnswerModel(tmp_path)


def test_the_card_names_the_data_the_base_and_the_recipe() -> None:
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    card = (MODEL_DIR / "CARD.md").read_text()
    assert "SQuAD 1.1" in meta["data"] and "CC BY-SA 4.0" in meta["data"]
    for needle in ("CC BY-SA 4.0", "Apache-2.0", "qa train-answer-model", str(meta["recipe"]["seed"])):
        assert needle in card
    assert meta["held_out"]["questions"] > 0
