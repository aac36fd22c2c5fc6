"""Readers keep answering while a writer works, and see another process's writes."""

from __future__ import annotations

import threading
from pathlib import Path

from index.corpus import Corpus
from index.models import Article
from qa.answer import Answerer
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder


def articles(start: int, stop: int) -> list[Article]:
    return [
        Article(id=f"n{i}", title=f"Note {i}", text=f"Harbour note {i}: cranes moved {i} boxes.")
        for i in range(start, stop)
    ]


def test_questions_are_answered_during_writes(corpus: Corpus, embedder: FakeEmbedder) -> None:
    answerer = Answerer(corpus, Retriever(embedder))
    errors: list[BaseException] = []
    answered = 0
    done = threading.Event()
    first_answer = threading.Event()

    def ask_in_a_loop() -> None:
        nonlocal answered
        while not done.is_set():
            try:
                assert answerer.ask("harbour cranes boxes", top_k=5).citations
                # Every hit belongs to the one snapshot the question was answered from, whole.
                found = answerer.retrieve("harbour cranes boxes", top_k=5)
                for hit in found.hits:
                    _, passages = found.snapshot.articles[hit.article.id]
                    assert found.snapshot.passage(hit.rowid) == hit.passage
                    assert passages >= 1
                answered += 1
                first_answer.set()
            except BaseException as exc:
                errors.append(exc)
                first_answer.set()
                return

    reader = threading.Thread(target=ask_in_a_loop)
    reader.start()
    assert first_answer.wait(timeout=30)
    before = answered
    for batch in range(5):
        corpus.add_articles(articles(batch * 20, batch * 20 + 20), embedder, batch_articles=7)
    for i in range(0, 100, 10):
        corpus.delete_article(f"n{i}")
    done.set()
    reader.join()
    assert errors == []
    assert answered > before  # questions were answered while the writes went on
    assert len(corpus.snapshot.articles) == 5 + 100 - 10


def test_another_process_write_is_seen(corpus: Corpus, embedder: FakeEmbedder) -> None:
    other = Corpus(corpus.data_dir, embedder.name, embedder.dimension)
    other.add_articles(articles(0, 3), embedder)
    other.delete_article("bees")
    other.close()
    snapshot = corpus.snapshot
    assert {"n0", "n1", "n2"} <= set(snapshot.articles)
    assert "bees" not in snapshot.articles
    assert len(snapshot.vectors) == snapshot.passage_count


def test_writers_in_two_processes_take_turns(tmp_path: Path, embedder: FakeEmbedder) -> None:
    first = Corpus(tmp_path, embedder.name, embedder.dimension)
    second = Corpus(tmp_path, embedder.name, embedder.dimension)
    first.add_articles(articles(0, 5), embedder)
    second.add_articles(articles(5, 10), embedder)  # starts from the first one's state
    first.add_articles(articles(10, 12), embedder)
    for c in (first, second):
        assert len(c.snapshot.articles) == 12
        assert len(c.snapshot.vectors) == 12
    first.close()
    second.close()
