"""A writer killed mid-ingest leaves a loadable index whose counts match the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from index.chunk import chunk_article
from index.corpus import MANIFEST_FILE, Corpus
from index.models import Article
from tests.fakes import FakeEmbedder

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
    manifest = data_dir / MANIFEST_FILE
    deadline = time.monotonic() + 60
    # Wait until a few batches have been committed, then kill without warning.
    while time.monotonic() < deadline:
        if manifest.exists() and json.loads(manifest.read_text() or "{}").get("articles", 0) >= 20:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    embedder = FakeEmbedder()
    corpus = Corpus(data_dir, embedder.name, embedder.dimension)
    snapshot = corpus.snapshot
    counts = corpus.db.counts()
    assert 20 <= counts["articles"] < 400
    assert len(snapshot.vectors) == snapshot.passage_count == counts["passages"]
    # Every stored article is whole: all of its passages, none of a half-written one.
    for article_id, (_, passages) in snapshot.articles.items():
        full = corpus.get_article(article_id)
        assert passages == len(
            chunk_article(full, corpus.config.max_chars, corpus.config.min_chars)
        )
    hits = snapshot.vectors.search(embedder.embed_query("paragraph two topic 3"), 5)
    assert all(snapshot.passage(rowid).article_id in snapshot.articles for rowid, _ in hits)
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
