"""The real model on the bundled article, served from each backend: the embedded FAISS index
and a Milvus collection on a real ``milvus-lite server``. The seed questions get the same
answer, the same citations at the same offsets and the same exact span from both."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embed import Embedder
from qa.models import Answer
from service.services import build_services
from service.settings import Settings
from tests.milvus_server import MilvusServer

pytestmark = pytest.mark.slow

QUESTIONS = [
    "What did the Chinese ambassador say about the attacks?",
    "Who is China's ambassador to Pakistan?",
    "What does CPEC stand for?",
    "Where were the Chinese engineers attacked?",
    "What is the boiling point of water?",  # not in the article: refused by both
]


def answers(settings: Settings, embedder: Embedder) -> list[Answer]:
    services = build_services(settings, embedder=embedder)
    try:
        return [services.answerer.ask(q) for q in QUESTIONS]
    finally:
        services.close()


def shape(answer: Answer) -> tuple[object, ...]:
    return (
        answer.answered,
        answer.text,
        answer.span,
        [
            (c.hit.passage.id, c.hit.passage.start, c.hit.passage.end, c.highlight)
            for c in answer.citations
        ],
    )


def test_the_seed_questions_are_answered_the_same_on_both_backends(
    tmp_path: Path, real_embedder: Embedder, milvus_server: MilvusServer, milvus_collection: str
) -> None:
    faiss = answers(Settings(data_dir=tmp_path / "faiss"), real_embedder)
    milvus = answers(
        Settings(
            data_dir=tmp_path / "milvus",
            vector_store="milvus",
            milvus_uri=milvus_server.uri,
            milvus_collection=milvus_collection,
        ),
        real_embedder,
    )
    assert faiss[0].answered and "Jiang Zaidong" in " ".join(
        c.hit.passage.text for c in faiss[1].citations
    )
    assert not faiss[-1].answered
    for a, b in zip(faiss, milvus, strict=True):
        assert shape(b) == shape(a), a.question
        for x, y in zip(a.citations, b.citations, strict=True):
            assert y.hit.score == pytest.approx(x.hit.score, abs=1e-5)
