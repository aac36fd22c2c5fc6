"""The corpus: a database (a SQLite file, or PostgreSQL) and a data directory with a manifest,
consistent across restarts. Most tests run on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from index.config import IndexConfig
from index.corpus import MANIFEST_FILE, Corpus
from index.errors import ArticleNotFoundError, IndexMismatchError
from index.models import Article
from index.store import Database
from tests.conftest import FIVE_ARTICLES
from tests.fakes import FakeEmbedder


def passages(*articles: Article) -> int:
    """How many passages ingest cuts from these articles."""
    return sum(len(IndexConfig().passages(a)) for a in articles)


FIVE_PASSAGES = passages(*FIVE_ARTICLES)
BY_ID = {a.id: a for a in FIVE_ARTICLES}


@pytest.fixture
def corpus(tmp_path: Path, embedder: FakeEmbedder, database_url: str) -> Iterator[Corpus]:
    """The five-article corpus, on each kind of database."""
    c = Corpus(tmp_path / "data", embedder.name, embedder.dimension, database_url=database_url)
    c.add_articles(FIVE_ARTICLES, embedder)
    yield c
    c.close()


def reopen(corpus: Corpus, embedder: FakeEmbedder) -> Corpus:
    corpus.close()
    return Corpus(
        corpus.data_dir, embedder.name, embedder.dimension, database_url=corpus.database_url
    )


def test_save_and_load_round_trip(corpus: Corpus, embedder: FakeEmbedder) -> None:
    before = corpus.snapshot
    query = embedder.embed_query("volcano lava eruption")
    positions, scores = before.dense_search(query, 3)
    expected = [
        (before.passage(int(p)).id, float(s)) for p, s in zip(positions, scores, strict=True)
    ]
    again = reopen(corpus, embedder)
    after = again.snapshot
    assert after.passage_count == before.passage_count == FIVE_PASSAGES
    positions, scores = after.dense_search(query, 3)
    assert [
        (after.passage(int(p)).id, float(s)) for p, s in zip(positions, scores, strict=True)
    ] == expected
    assert expected[0][0].startswith("volcano:")
    manifest = json.loads((corpus.data_dir / MANIFEST_FILE).read_text())
    assert manifest["model"] == embedder.name
    assert manifest["dimension"] == embedder.dimension
    again.close()


def test_stored_passages_match_article_text(corpus: Corpus) -> None:
    stored = [p for _, p in corpus.snapshot.iter_passages()]
    assert len(stored) == FIVE_PASSAGES
    for passage in stored:
        article = corpus.get_article(passage.article_id)
        assert article.text[passage.start : passage.end] == passage.text
        for sentence in passage.sentences:
            assert article.text[sentence.start : sentence.end] == sentence.text


def test_article_pages_in_id_order_and_empty_past_the_end(corpus: Corpus) -> None:
    snapshot = corpus.snapshot
    assert [a.id for a, _ in snapshot.article_page(1, 2)] == ["bread", "chess"]
    assert snapshot.article_page(5, 10) == []
    # Beyond sys.maxsize, where itertools.islice refuses the offset.
    assert snapshot.article_page(2**64, 10) == []


def test_reingesting_unchanged_articles_embeds_nothing(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    calls = embedder.calls
    generation = corpus.snapshot.generation
    report = corpus.add_articles(FIVE_ARTICLES, embedder)
    assert report.unchanged == [a.id for a in FIVE_ARTICLES]
    assert report.added == report.updated == []
    assert embedder.calls == calls
    assert corpus.snapshot.generation == generation


def test_changed_article_replaces_its_passages(corpus: Corpus, embedder: FakeEmbedder) -> None:
    changed = replace(FIVE_ARTICLES[1], text="The chess final was won by the challenger.")
    report = corpus.add_articles([changed], embedder)
    assert report.updated == ["chess"]
    snapshot = corpus.snapshot
    texts = [p.text for _, p in snapshot.iter_passages() if p.article_id == "chess"]
    assert texts == ["The chess final was won by the challenger."]
    assert snapshot.passage_count == FIVE_PASSAGES - passages(BY_ID["chess"]) + passages(changed)
    assert snapshot.article("chess") == (replace(changed, text=""), 1)


def test_delete_article_survives_restart(corpus: Corpus, embedder: FakeEmbedder) -> None:
    corpus.delete_article("bees")
    with pytest.raises(ArticleNotFoundError):
        corpus.delete_article("bees")
    assert corpus.snapshot.article("bees") is None
    again = reopen(corpus, embedder)
    assert "bees" not in again.snapshot.articles
    positions, _ = again.snapshot.dense_search(embedder.embed_query("bees pesticides"), 10)
    assert len(positions) == FIVE_PASSAGES - passages(BY_ID["bees"])
    assert all(again.snapshot.passage(int(p)).article_id != "bees" for p in positions)
    again.close()


def test_other_model_is_refused(corpus: Corpus) -> None:
    corpus.close()
    with pytest.raises(IndexMismatchError, match="built with model 'fake-bag-of-words'"):
        Corpus(corpus.data_dir, "all-MiniLM-L6-v2", 384, database_url=corpus.database_url)


def test_manifest_naming_other_model_is_refused(corpus: Corpus, embedder: FakeEmbedder) -> None:
    corpus.close()
    path = corpus.data_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest["model"] = "other-model"
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="according to its manifest"):
        Corpus(corpus.data_dir, embedder.name, embedder.dimension, database_url=corpus.database_url)


def test_store_without_manifest_opens_from_the_database(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    corpus.close()
    (corpus.data_dir / MANIFEST_FILE).unlink()
    again = Corpus(
        corpus.data_dir, embedder.name, embedder.dimension, database_url=corpus.database_url
    )
    assert again.snapshot.passage_count == FIVE_PASSAGES
    assert (corpus.data_dir / MANIFEST_FILE).exists()
    again.close()


def test_deleted_text_does_not_linger_in_the_database_file(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension)  # the SQLite default
    corpus.add_articles(FIVE_ARTICLES, embedder)
    secret = "Zanzibarquokka"
    corpus.add_articles(
        [replace(FIVE_ARTICLES[2], id="gone", text=f"The {secret} report was filed in May.")],
        embedder,
    )
    corpus.delete_article("gone")
    corpus.close()  # the last connection checkpoints the write-ahead log into the file
    raw = b"".join(p.read_bytes() for p in corpus.data_dir.glob("corpus.sqlite*"))
    assert secret.encode() not in raw


def test_open_reads_vectors_from_the_checkpoint_and_replays_later_commits(
    corpus: Corpus, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus.close()  # checkpoint at this generation
    manifest = json.loads((corpus.data_dir / MANIFEST_FILE).read_text())
    assert manifest["passages"] == FIVE_PASSAGES and manifest["articles"] == len(FIVE_ARTICLES)
    assert all(
        (corpus.data_dir / "segments" / f"{s['name']}.faiss").exists() for s in manifest["segments"]
    )
    # Another process writes and is killed before it can checkpoint.
    other = Corpus(
        corpus.data_dir,
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        database_url=corpus.database_url,
    )
    crowned = replace(FIVE_ARTICLES[1], text="A new chess champion was crowned.")
    other.add_articles([crowned], embedder)
    other.delete_article("rail")
    monkeypatch.setattr(other, "checkpoint", lambda: False)
    other.close()
    reads: list[object] = []
    original = Database.load_articles

    def spy(self: Database, dimension: int, article_ids: object = None, with_vectors: bool = True):
        reads.append((article_ids, with_vectors))
        return original(self, dimension, article_ids, with_vectors)

    monkeypatch.setattr(Database, "load_articles", spy)
    again = Corpus(
        corpus.data_dir,
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        database_url=corpus.database_url,
    )
    # Vectors were read from the database only for the articles changed after the checkpoint.
    assert [r for r in reads if r[1]] == [(["chess", "rail"], True)]
    snapshot = again.snapshot
    assert snapshot.article("rail") is None
    assert [p.text for _, p in snapshot.iter_passages() if p.article_id == "chess"] == [
        "A new chess champion was crowned."
    ]
    assert snapshot.passage_count == (
        FIVE_PASSAGES - passages(BY_ID["rail"], BY_ID["chess"]) + passages(crowned)
    )
    again.close()


def test_damaged_checkpoint_is_rebuilt_from_the_database(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    corpus.close()
    for path in (corpus.data_dir / "segments").glob("*.faiss"):
        path.write_bytes(b"garbage")
    again = Corpus(
        corpus.data_dir,
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        database_url=corpus.database_url,
    )
    assert again.snapshot.passage_count == FIVE_PASSAGES
    positions, _ = again.snapshot.dense_search(embedder.embed_query("volcano lava"), 1)
    assert again.snapshot.passage(int(positions[0])).article_id == "volcano"
    again.close()
    reopened = Corpus(
        corpus.data_dir,
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        database_url=corpus.database_url,
    )
    assert reopened.snapshot.passage_count == FIVE_PASSAGES  # the new checkpoint reads back whole
    reopened.close()


def test_truncated_manifest_is_rebuilt_with_a_log_line(
    corpus: Corpus, embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    corpus.close()
    manifest = corpus.data_dir / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:20])
    with caplog.at_level("WARNING", logger="index.corpus"):
        again = Corpus(
            corpus.data_dir,
            embedder.name,
            embedder.dimension,
            refresh_seconds=0,
            database_url=corpus.database_url,
        )
    assert again.snapshot.passage_count == FIVE_PASSAGES
    assert any("rebuild" in r.getMessage().lower() for r in caplog.records), caplog.text
    again.close()


def test_reindex_embeds_every_article_again_and_rebuild_reads_the_database(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    before = [p for _, p in corpus.snapshot.iter_passages()]
    calls = embedder.calls
    assert corpus.reindex(embedder, batch_articles=2) == len(FIVE_ARTICLES)
    assert embedder.calls > calls
    after = corpus.rebuild()
    assert len(after.states) == 1
    assert sorted(p.id for _, p in after.iter_passages()) == sorted(p.id for p in before)
    assert after.article_count == len(FIVE_ARTICLES)


def test_an_article_that_cannot_be_stored_fails_alone(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    articles = [
        Article(id="first", title="First", text="The first of three articles about tides."),
        Article(id="broken", title="Bro\ud800ken", text="A title no encoder accepts."),
        Article(id="last", title="Last", text="The last of three articles about tides."),
    ]
    report = corpus.add_articles(articles, embedder)
    assert report.added == ["first", "last"]
    [(source, reason)] = report.failed
    assert source == "broken"
    assert "field 'title' holds a lone surrogate" in reason
    assert corpus.holds(articles[1]) is None
    assert corpus.snapshot.article_count == 7


def test_a_second_article_with_the_same_id_in_one_call_is_refused(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    first = Article(id="tide", title="Tides", text="The first article about tides.")
    second = Article(id="tide", title="Tides again", text="Another article, same id.")
    report = corpus.add_articles([first, second], embedder)
    assert report.added == ["tide"]
    assert report.failed == [
        ("tide", "duplicate id 'tide': an earlier article in this ingest has it; not stored")
    ]
    assert corpus.get_article("tide").text == first.text


def test_an_article_without_text_is_refused_not_stored_empty(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    report = corpus.add_articles([Article(id="blank", title="Blank", text=" \n\t ")], embedder)
    assert report.added == []
    assert report.failed == [("blank", "field 'text' holds no text")]
    assert corpus.holds(Article(id="blank", title="Blank", text="")) is None
