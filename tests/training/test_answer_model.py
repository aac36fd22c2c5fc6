"""The answer model's recipe, end to end on a few SQuAD examples the project ships."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.corpus import Corpus
from qa.answer import Answerer
from qa.extract import AnswerPicker
from qa.reader import AnswerModel, file_sha256
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder
from training.answer_model import Recipe, train
from training.squad import read_questions, split_articles, training_pairs

SAMPLE = Path(__file__).parent / "squad-sample.json"


def test_pairs_hold_the_answer_sentence_and_negatives_that_do_not() -> None:
    questions = read_questions(SAMPLE)
    assert questions
    for q in questions:
        for i, (a, b) in zip(q.positives, q.answers, strict=True):
            assert q.sentences[i][a:b] == q.answer
    pairs = list(training_pairs(questions, hard=2, easy=1, seed=1))
    positives = [p for p in pairs if p.label == 1.0]
    assert len(positives) == len(questions)
    for p in positives:
        assert p.answer is not None and p.sentence[p.answer[0] : p.answer[1]]
    by_text = {q.question: q for q in questions}
    article_sentences: dict[int, set[str]] = {}
    for q in questions:
        article_sentences.setdefault(q.article, set()).update(q.sentences)
    for p in pairs:
        if p.label == 0.0:
            question = by_text[p.question]
            if p.sentence in question.sentences:  # a hard negative: its own paragraph
                assert question.answer not in p.sentence
            else:  # an easy one: another article's sentence
                assert p.sentence not in article_sentences[question.article]


def test_held_out_articles_share_no_paragraph_with_training() -> None:
    questions = read_questions(SAMPLE)
    train_qs, held = split_articles(questions, holdout=2, seed=3)
    assert len({q.article for q in held}) == 2
    assert not {q.article for q in train_qs} & {q.article for q in held}
    assert split_articles(questions, holdout=2, seed=3) == (train_qs, held)


@pytest.mark.model
def test_the_recipe_trains_a_model_the_pipeline_answers_with(tmp_path: Path) -> None:
    recipe = Recipe(layers=1, questions=60, holdout_articles=2, batch_size=16, threads=1)
    out = tmp_path / "model"
    figures = train(recipe, SAMPLE, None, out, tmp_path / "work", progress=False)

    assert figures.questions > 0
    assert 0.0 <= figures.sentence_accuracy <= 1.0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["recipe"]["layers"] == 1
    assert meta["sha256"]["model.onnx"] == file_sha256(out / "model.onnx")
    assert meta["held_out"]["questions"] == figures.questions

    # The trained file serves through the whole pipeline: retrieval on the fake embedder, the
    # answer sentence and span from the new model, quoted with its citation's marker.
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension)
    try:
        from tests.conftest import FIVE_ARTICLES

        corpus.add_articles(FIVE_ARTICLES, embedder)
        answerer = Answerer(corpus, Retriever(embedder), AnswerPicker(AnswerModel(out)))
        answer = answerer.ask("Who evacuated residents before the volcano eruption?", top_k=3)
        assert answer.answered
        (cited,) = [c for c in answer.citations if c.highlight is not None]
        assert cited.highlight is not None
        assert answer.text == f"{cited.highlight.text} [{cited.rank}]"
        assert cited.hit.passage.start <= cited.highlight.start < cited.highlight.end
        if answer.span is not None:
            assert cited.highlight.start <= answer.span.start < answer.span.end
            assert answer.span.end <= cited.highlight.end
    finally:
        corpus.close()
