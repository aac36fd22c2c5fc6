"""Training pairs for the answer model, built from SQuAD 1.1 train.

Each question gives one positive pair (question, the sentence holding its answer, with the answer's
offsets in that sentence) and negatives: other sentences of the same paragraph (hard: same topic,
same article) and a sentence of another article sharing a content word with the question (it
teaches the model that a sentence *about* the words is not an answer, which the refusal needs).
Sentences are split with the product's own splitter (``index.chunk.split_sentences``), so the
model is trained on the sentences it will judge.

Articles, not questions, are split into train and held-out: the held-out slice is the last
``holdout`` articles in a seeded shuffle, so no paragraph the model trained on is judged.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.chunk import split_sentences
from index.text import content_terms


@dataclass(frozen=True)
class Pair:
    """One training or validation pair: ``answer`` is the (start, end) of the answer in
    ``sentence`` for a positive, None for a negative."""

    question: str
    sentence: str
    label: float
    answer: tuple[int, int] | None


@dataclass(frozen=True)
class Question:
    """A SQuAD question with its paragraph split into sentences: ``positives`` are the indices of
    the sentences that hold the answer, ``answers`` its (start, end) in each of them."""

    article: int
    question: str
    answer: str
    sentences: tuple[str, ...]
    positives: tuple[int, ...]
    answers: tuple[tuple[int, int], ...]


def read_questions(path: str | Path, ambiguous: set[str] | None = None) -> list[Question]:
    """Every question of the SQuAD file at ``path`` whose answer lies inside one sentence.

    For a question in ``ambiguous`` (its answer's offset was guessed: SOURCE.md), every sentence
    holding the answer's text is a positive; otherwise the sentence holding the offset is."""
    ambiguous = ambiguous or set()
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    questions: list[Question] = []
    for a, article in enumerate(data):
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans = split_sentences(context)
            texts = tuple(s.text for s in spans)
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                text, start = answer["text"], answer["answer_start"]
                positives: list[int] = []
                offsets: list[tuple[int, int]] = []
                for i, span in enumerate(spans):
                    if qa["id"] in ambiguous:
                        at = span.text.find(text)
                        if at >= 0:
                            positives.append(i)
                            offsets.append((at, at + len(text)))
                    elif span.start <= start and start + len(text) <= span.end:
                        positives.append(i)
                        offsets.append((start - span.start, start - span.start + len(text)))
                if positives:
                    questions.append(
                        Question(a, qa["question"], text, texts, tuple(positives), tuple(offsets))
                    )
    return questions


def split_articles(
    questions: list[Question], holdout: int, seed: int
) -> tuple[list[Question], list[Question]]:
    """(train, held-out) questions, the held-out ones from ``holdout`` whole articles."""
    articles = sorted({q.article for q in questions})
    random.Random(seed).shuffle(articles)
    held = set(articles[len(articles) - holdout :]) if holdout else set()
    return (
        [q for q in questions if q.article not in held],
        [q for q in questions if q.article in held],
    )


class OtherArticleSentences:
    """Finds, for a question, a sentence of another article that shares a content word with it."""

    def __init__(self, questions: list[Question]) -> None:
        self._by_term: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self._all: list[tuple[int, str]] = []
        seen: set[tuple[int, str]] = set()
        for q in questions:
            for sentence in q.sentences:
                key = (q.article, sentence)
                if key in seen:
                    continue
                seen.add(key)
                self._all.append(key)
                for term in set(content_terms(sentence)):
                    self._by_term[term].append(key)

    def pick(self, question: Question, rng: random.Random) -> str:
        """A sentence from another article, sharing a word with the question when one can."""
        terms = [t for t in set(content_terms(question.question)) if t in self._by_term]
        rng.shuffle(terms)
        for term in terms[:3]:
            pool = self._by_term[term]
            for _ in range(4):
                article, sentence = pool[rng.randrange(len(pool))]
                if article != question.article:
                    return sentence
        while True:
            article, sentence = self._all[rng.randrange(len(self._all))]
            if article != question.article:
                return sentence


def training_pairs(questions: list[Question], hard: int, easy: int, seed: int) -> Iterator[Pair]:
    """For each question: its first positive, up to ``hard`` other sentences of its paragraph
    and ``easy`` sentences of other articles, in a seeded order."""
    rng = random.Random(seed)
    others = OtherArticleSentences(questions)
    for q in questions:
        first = q.positives[0]
        yield Pair(q.question, q.sentences[first], 1.0, q.answers[0])
        negatives = [
            s for i, s in enumerate(q.sentences) if i not in q.positives and q.answer not in s
        ]
        for sentence in rng.sample(negatives, min(hard, len(negatives))):
            yield Pair(q.question, sentence, 0.0, None)
        for _ in range(easy):
            yield Pair(q.question, others.pick(q, rng), 0.0, None)
