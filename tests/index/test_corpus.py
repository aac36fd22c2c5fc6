"""The corpus on disk: SQLite plus FAISS plus manifest, consistent across restarts and crashes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from index.corpus import MANIFEST_FILE, VECTORS_FILE, Corpus
from index.errors import ArticleNotFoundError, IndexMismatchError
from tests.conftest import FIVE_ARTICLES
from tests.fakes import FakeEmbedder


def reopen(corpus: Corpus, embedder: FakeEmbedder) -> Corpus:
    corpus.close()
    return Corpus(corpus.data_dir, embedder.name, embedder.dimension)


def test_save_and_load_round_trip(corpus: Corpus, embedder: FakeEmbedder) -> None:
    before = corpus.snapshot
    query = embedder.embed_query("volcano lava eruption")
    expected = before.vectors.search(query, 3)
    again = reopen(corpus, embedder)
    assert again.snapshot.passage_count == before.passage_count == 5
    assert again.snapshot.vectors.search(query, 3) == expected
    assert before.passage(expected[0][0]).article_id == "volcano"
    manifest = json.loads((corpus.data_dir / MANIFEST_FILE).read_text())
    assert manifest["model"] == embedder.name
    assert manifest["dimension"] == embedder.dimension
    assert manifest["passages"] == 5
    assert len(manifest["vectors_sha256"]) == 64
    again.close()


def test_stored_passages_match_article_text(corpus: Corpus) -> None:
    for passage in corpus.snapshot.stored.passages:
        article = corpus.get_article(passage.article_id)
        assert article.text[passage.start : passage.end] == passage.text


def test_reingesting_unchanged_articles_embeds_nothing(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    calls = embedder.calls
    report = corpus.add_articles(FIVE_ARTICLES, embedder)
    assert report.unchanged == [a.id for a in FIVE_ARTICLES]
    assert report.added == report.updated == []
    assert embedder.calls == calls


def test_changed_article_replaces_its_passages(corpus: Corpus, embedder: FakeEmbedder) -> None:
    changed = replace(FIVE_ARTICLES[1], text="The chess final was won by the challenger.")
    report = corpus.add_articles([changed], embedder)
    assert report.updated == ["chess"]
    texts = [p.text for p in corpus.snapshot.stored.passages if p.article_id == "chess"]
    assert texts == ["The chess final was won by the challenger."]
    assert len(corpus.snapshot.vectors) == corpus.snapshot.passage_count


def test_delete_article_survives_restart(corpus: Corpus, embedder: FakeEmbedder) -> None:
    corpus.delete_article("bees")
    with pytest.raises(ArticleNotFoundError):
        corpus.delete_article("bees")
    again = reopen(corpus, embedder)
    assert "bees" not in again.snapshot.articles
    hits = again.snapshot.vectors.search(embedder.embed_query("bees pesticides"), 10)
    assert all(again.snapshot.passage(rowid).article_id != "bees" for rowid, _ in hits)
    again.close()


def test_other_model_is_refused(corpus: Corpus) -> None:
    corpus.close()
    with pytest.raises(IndexMismatchError, match="built with model 'fake-bag-of-words'"):
        Corpus(corpus.data_dir, "all-MiniLM-L6-v2", 384)


def test_manifest_naming_other_model_is_refused(corpus: Corpus, embedder: FakeEmbedder) -> None:
    corpus.close()
    path = corpus.data_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest["model"] = "other-model"
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="according to its manifest"):
        Corpus(corpus.data_dir, embedder.name, embedder.dimension)


def test_index_out_of_step_with_database_is_rebuilt(
    corpus: Corpus, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    # Simulate a crash after the database commit but before the index save: keep the old files.
    old_vectors = (corpus.data_dir / VECTORS_FILE).read_bytes()
    old_manifest = (corpus.data_dir / MANIFEST_FILE).read_bytes()
    corpus.delete_article("chess")
    (corpus.data_dir / VECTORS_FILE).write_bytes(old_vectors)
    (corpus.data_dir / MANIFEST_FILE).write_bytes(old_manifest)
    again = reopen(corpus, embedder)
    assert "chess" not in again.snapshot.articles
    assert len(again.snapshot.vectors) == again.snapshot.passage_count == 4
    assert json.loads((corpus.data_dir / MANIFEST_FILE).read_text())["passages"] == 4
    again.close()


def test_corrupt_index_file_is_rebuilt(corpus: Corpus, embedder: FakeEmbedder) -> None:
    corpus.close()
    (corpus.data_dir / VECTORS_FILE).write_bytes(b"garbage")
    again = Corpus(corpus.data_dir, embedder.name, embedder.dimension)
    assert len(again.snapshot.vectors) == 5
    again.close()
