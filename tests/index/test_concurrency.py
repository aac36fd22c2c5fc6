"""Readers never wait: not for a writer thread, not for another process's ingest or its lock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from index.chunk import chunk_article
from index.corpus import Corpus
from index.models import Article
from qa.answer import Answerer
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).parents[2]


def articles(start: int, stop: int) -> list[Article]:
    return [
        Article(
            id=f"n{i}",
            title=f"Note {i}",
            text=f"Harbour note {i}: cranes moved {i} boxes from the ships to the trucks waiting "
            f"on the road behind the warehouses of the old port.\n\nThe quay {i} was busy at "
            "dawn, when the fishing boats came back and the market opened its doors to buyers.",
        )
        for i in range(start, stop)
    ]


PASSAGES = {a.id: len(chunk_article(a)) for a in articles(0, 120)}


def wait_for(predicate: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def check_whole(answerer: Answerer) -> int:
    """Ask once; every cited article is whole in the snapshot the answer came from."""
    found = answerer.retrieve("harbour cranes boxes quay", top_k=5)
    snapshot = found.snapshot
    for hit in found.hits:
        assert snapshot.passage(hit.position) == hit.passage
        assert snapshot.is_live(hit.position)
        meta, count = snapshot.article(hit.article.id) or (None, 0)
        assert meta == hit.article
        assert len(snapshot.positions_of([hit.article.id])) == count
        assert count == PASSAGES.get(hit.article.id, count)
    return snapshot.article_count


def test_questions_are_answered_during_a_writer_thread(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    answerer = Answerer(corpus, Retriever(embedder))
    errors: list[BaseException] = []
    answered = 0
    done = threading.Event()

    def write() -> None:
        try:
            for batch in range(5):
                corpus.add_articles(
                    articles(batch * 20, batch * 20 + 20), embedder, batch_articles=7
                )
            for i in range(0, 100, 10):
                corpus.delete_article(f"n{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set():
        check_whole(answerer)
        answered += 1
    writer.join()
    assert errors == []
    assert answered > 0
    assert check_whole(answerer) == 5 + 100 - 10
    assert corpus.snapshot.passage_count == 5 + sum(PASSAGES[f"n{i}"] for i in range(100) if i % 10)


def test_reads_go_on_while_this_process_holds_the_writer_locks(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    answerer = Answerer(corpus, Retriever(embedder))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with corpus.locks.exclusive():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    results: list[int] = []
    reader = threading.Thread(target=lambda: results.append(len(answerer.ask("bees").citations)))
    reader.start()
    reader.join(timeout=10)
    finished_while_held = not reader.is_alive()
    release.set()
    holder.join()
    reader.join()
    assert finished_while_held
    assert results and results[0] > 0


HOLDER = """
import sys, time
from pathlib import Path
from index.corpus import Corpus
from index.models import Article
from tests.fakes import FakeEmbedder

data_dir, flag = Path(sys.argv[1]), Path(sys.argv[2])
embedder = FakeEmbedder()
corpus = Corpus(data_dir, embedder.name, embedder.dimension, refresh_seconds=0)
other = Article(id="other", title="Other process", text="Written elsewhere.")
corpus.add_articles([other], embedder)
with corpus.db.writer_lock():
    print("holding", flush=True)
    while not flag.exists():
        time.sleep(0.01)
corpus.close()
"""


def test_another_process_holding_the_lock_delays_no_reader_and_its_write_is_seen(
    corpus: Corpus, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    flag = tmp_path / "release"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    other = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(corpus.data_dir), str(flag)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        answerer = Answerer(corpus, Retriever(embedder))
        # The other process committed, then kept the lock: the background refresh picks the
        # write up without it, and questions are answered meanwhile.
        assert wait_for(lambda: corpus.snapshot.article("other") is not None)
        assert answerer.ask("written elsewhere").citations
        assert corpus.db.lock_file is not None
        with open(corpus.db.lock_file, "a+b") as fh:  # still held by the other process
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("the other process should hold the lock")
            except BlockingIOError:
                pass
    finally:
        flag.touch()
        other.wait(timeout=30)
    assert other.returncode == 0


INGEST = """
import sys, time
from index.corpus import Corpus
from tests.fakes import FakeEmbedder
from tests.index.test_concurrency import articles

class SlowEmbedder(FakeEmbedder):
    def embed_passages(self, texts):
        time.sleep(0.02)
        return super().embed_passages(texts)

embedder = SlowEmbedder()
corpus = Corpus(sys.argv[1], embedder.name, embedder.dimension, refresh_seconds=0)
corpus.add_articles(articles(0, 120), embedder, batch_articles=6)
corpus.close()
"""


def test_a_second_process_ingest_is_seen_batch_by_batch_while_questions_are_answered(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    other = subprocess.Popen([sys.executable, "-c", INGEST, str(corpus.data_dir)], env=env)
    answerer = Answerer(corpus, Retriever(embedder))
    seen: list[int] = []
    while other.poll() is None:
        seen.append(check_whole(answerer) - 5)
    assert other.returncode == 0
    assert wait_for(lambda: corpus.snapshot.article_count == 125)
    seen.append(check_whole(answerer) - 5)
    # Progress was visible in whole batches of six articles, never half a batch.
    partial = sorted(set(seen) - {0, 120})
    assert partial, "the ingest's batches should be seen before it ends"
    assert all(n % 6 == 0 for n in seen)


def test_writers_in_two_processes_take_turns(tmp_path: Path, embedder: FakeEmbedder) -> None:
    first = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    second = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    first.add_articles(articles(0, 5), embedder)
    second.add_articles(articles(5, 10), embedder)  # catches up with the first one's commits
    first.add_articles(articles(10, 12), embedder)
    second.delete_article("n0")
    first.refresh()
    second.refresh()
    for c in (first, second):
        assert c.snapshot.article_count == 11
        assert c.snapshot.passage_count == 11 * PASSAGES["n1"]
    first.close()
    second.close()
