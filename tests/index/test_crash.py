"""A writer killed mid-ingest leaves a loadable index whose counts match the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from index.chunk import chunk_article
from index.corpus import Corpus
from index.models import Article
from tests.fakes import FakeEmbedder
from tests.live import committed_articles

ROOT = Path(__file__).parents[2]

WRITER = """
import sys, time
from index.corpus import Corpus
from index.models import Article
from tests.fakes import FakeEmbedder

class SlowEmbedder(FakeEmbedder):
    def embed_passages(self, texts):
        time.sleep(0.05)
        return super().embed_passages(texts)

embedder = SlowEmbedder()
corpus = Corpus(sys.argv[1], embedder.name, embedder.dimension)
articles = [
    Article(id=f"a{i}", title=f"Article {i}", text=f"Paragraph one of article {i}.\\n\\n"
            f"Paragraph two of article {i}, about topic {i % 7}.")
    for i in range(400)
]
corpus.add_articles(articles, embedder, batch_articles=5)
"""


def test_killed_ingest_leaves_a_consistent_index(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir)], env=env)
    deadline = time.monotonic() + 60
    # Wait until a few batches have been committed, then kill without warning.
    while time.monotonic() < deadline and committed_articles(data_dir) < 20:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    embedder = FakeEmbedder()
    corpus = Corpus(data_dir, embedder.name, embedder.dimension)
    snapshot = corpus.snapshot
    counts = corpus.db.counts()
    assert 20 <= counts["articles"] < 400
    assert snapshot.article_count == counts["articles"]
    assert snapshot.passage_count == counts["passages"]
    # Every stored article is whole: all of its passages, none of a half-written one.
    for article_id, (_, passages) in snapshot.articles.items():
        full = corpus.get_article(article_id)
        assert passages == len(
            chunk_article(full, corpus.config.max_chars, corpus.config.min_chars)
        )
    positions, _ = snapshot.dense_search(embedder.embed_query("paragraph two topic 3"), 5)
    assert len(positions) == 5
    assert all(snapshot.passage(int(p)).article_id in snapshot.articles for p in positions)
    # And the interrupted ingest can simply be run again.
    rest = [
        Article(
            id=f"a{i}",
            title=f"Article {i}",
            text=f"Paragraph one of article {i}.\n\n"
            f"Paragraph two of article {i}, about topic {i % 7}.",
        )
        for i in range(400)
    ]
    report = corpus.add_articles(rest, embedder)
    assert len(report.unchanged) == counts["articles"]
    assert corpus.db.counts()["articles"] == 400
    corpus.close()


def test_opening_removes_temporary_files_a_dead_writer_left(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension, refresh_seconds=0)
    corpus.add_articles([Article(id="a", title="A", text="Alpha text.")], embedder)
    corpus.close()
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(finished.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    data = corpus.data_dir
    try:
        stale = [data / f".manifest.json.tmp-{dead}", data / "segments" / f".s1.faiss.tmp-{dead}"]
        kept = [
            data / f".manifest.json.tmp-{os.getpid()}",  # this process may be writing it
            data / "segments" / f".s1.npz.tmp-{alive.pid}",  # so may a live one
            data / "notes.tmp-draft",  # not a temporary file of ours
        ]
        for path in stale + kept:
            path.write_bytes(b"partial")
        Corpus(data, embedder.name, embedder.dimension, refresh_seconds=0).close()
        assert [p.name for p in stale if p.exists()] == []
        assert [p.name for p in kept if not p.exists()] == []
    finally:
        alive.kill()
        alive.wait()
