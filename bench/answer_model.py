"""What the answer model adds to a question: its reading of the candidate sentences, timed beside
the int8 encode of one question (the floor) in the same process, interleaved, so that both see
the same machine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence

from index.chunk import split_sentences
from index.onnx_embed import OnnxEmbedder
from index.sources import default_corpus_dir
from qa.reader import AnswerModel

QUESTIONS = (
    "Who is China's ambassador to Pakistan?",
    "What did Pakistan say about the security of Chinese workers?",
    "How many attacks happened in six months?",
    "What does CPEC stand for?",
)


def run(
    sentences: int = 8, rounds: int = 30, questions: Sequence[str] = QUESTIONS
) -> Iterator[str]:
    """Lines of a report: p50 of one question's encode and of the model judging ``sentences``
    sentences of the bundled article, and their ratio."""
    encoder, model = OnnxEmbedder(threads=1), AnswerModel()
    text = next(default_corpus_dir().glob("*.txt")).read_text(encoding="utf-8")
    pool = [s.text for s in split_sentences(text) if len(s.text) > 40]
    if len(pool) < sentences:
        raise ValueError(f"the bundled article has {len(pool)} sentences, not {sentences}")
    encode, judge = [], []
    for r in range(rounds):
        for i, question in enumerate(questions):
            start = time.perf_counter()
            encoder.embed_query(question)
            encode.append(time.perf_counter() - start)
            first = (r * len(questions) + i) % (len(pool) - sentences + 1)
            start = time.perf_counter()
            model.judge(question, pool[first : first + sentences])
            judge.append(time.perf_counter() - start)
    floor, cost = statistics.median(encode), statistics.median(judge)
    yield f"int8 encode of one question, p50: {floor * 1000:.1f} ms (the floor)"
    yield f"answer model reading {sentences} sentences, p50: {cost * 1000:.1f} ms"
    yield f"answer model ÷ floor: {cost / floor:.2f} ({len(encode)} of each)"
