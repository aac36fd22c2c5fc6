"""The database layer on a SQLite file and on PostgreSQL: round trips, generations, the writer
lock, one database shared by corpora on different data directories, and old SQLite files."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from index.chunk import chunk_article
from index.corpus import DB_FILE, Corpus
from index.models import Article, Entity
from index.rows import StoredPassage
from index.store import MIGRATIONS, Database, sqlite_url
from tests.conftest import FIVE_ARTICLES
from tests.fakes import FakeEmbedder

DIMENSION = 4


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.close()


def put(db: Database, article: Article, seed: int = 0) -> list[int]:
    """Store an article cut into passages with random vectors; returns their row ids."""
    passages = chunk_article(article, 80, 10)
    if passages:
        passages[0] = replace(
            passages[0], entities=(Entity(passages[0].start, passages[0].start + 3, "GPE"),)
        )
    rng = np.random.default_rng(seed)
    vectors = rng.random((len(passages), DIMENSION), dtype=np.float32)
    sentence_vectors = [
        rng.random((len(p.sentences), DIMENSION), dtype=np.float32) for p in passages
    ]
    with db.transaction() as txn:
        rowids = db.put_article(txn.conn, article, passages, vectors, sentence_vectors)
        db.log_change(txn, article.id)
    return rowids


def test_articles_round_trip_with_vectors_and_generations(db: Database) -> None:
    assert db.generation == 0
    rowids = put(db, FIVE_ARTICLES[0])
    put(db, FIVE_ARTICLES[1], seed=1)
    assert db.generation == 2
    assert db.counts()["articles"] == 2
    [stored] = db.load_articles(DIMENSION, ["volcano", "missing"])
    assert stored.rowids == rowids
    assert stored.article == FIVE_ARTICLES[0]
    assert stored.vectors.shape == (len(rowids), DIMENSION)
    assert stored.vectors.dtype == np.float32
    for passage, vectors in zip(stored.passages, stored.sentence_vectors, strict=True):
        assert FIVE_ARTICLES[0].text[passage.start : passage.end] == passage.text
        assert vectors.shape == (len(passage.sentences), DIMENSION)
    assert stored.passages[0].entities[0].label == "GPE"
    assert [s.article.id for s in db.load_articles(DIMENSION)] == ["volcano", "chess"]
    assert db.load_articles(DIMENSION, with_vectors=False)[0].vectors.shape == (len(rowids), 0)
    assert db.article_hashes(["chess", "volcano", "nope"]).keys() == {"chess", "volcano"}
    assert db.get_article("chess") == FIVE_ARTICLES[1]
    assert db.changed_since(1) == ["chess"]
    assert db.oldest_change() == 1
    with db.transaction() as txn:
        assert db.delete_article(txn.conn, "volcano")
        assert not db.delete_article(txn.conn, "nowhere")
    assert db.counts() == {"articles": 1, "passages": 1, "sentences": 1}
    db.set_meta("setting:x", "1")
    db.set_meta("setting:x", "2")
    assert db.get_meta("setting:x") == "2"
    assert db.get_meta("nothing") is None


def test_load_passages_reads_passages_by_row_id(db: Database) -> None:
    rowids = put(db, FIVE_ARTICLES[0]) + put(db, FIVE_ARTICLES[2], seed=2)
    articles = {s.article.id: s for s in db.load_articles(DIMENSION)}
    wanted = [rowids[-1], 10_000, rowids[0], *range(20_000, 21_000)]  # more than one IN list
    found = db.load_passages(wanted, DIMENSION)
    assert list(found) == [rowids[-1], rowids[0]]
    first = found[rowids[0]]
    assert isinstance(first, StoredPassage)
    volcano = articles["volcano"]
    assert first.article == replace(FIVE_ARTICLES[0], text="")
    assert first.passage == volcano.passages[0]
    assert first.passage.entities and first.passage.sentences
    np.testing.assert_array_equal(first.vector, volcano.vectors[0])
    assert first.vector.shape == (DIMENSION,)
    np.testing.assert_array_equal(first.sentence_vectors, volcano.sentence_vectors[0])
    assert found[rowids[-1]].passage == articles["bread"].passages[-1]
    assert db.load_passages([], DIMENSION) == {}


def test_a_failed_write_commits_nothing(db: Database) -> None:
    put(db, FIVE_ARTICLES[0])
    with pytest.raises(RuntimeError), db.transaction() as txn:
        db.delete_article(txn.conn, "volcano")
        raise RuntimeError("stop")
    assert db.generation == 1
    assert db.get_article("volcano") is not None


def test_concurrent_writers_never_share_a_generation(database_url: str) -> None:
    writers = [Database(database_url) for _ in range(4)]
    start = threading.Barrier(len(writers))
    seen: list[int] = []

    def write(db: Database, name: int) -> None:
        start.wait()
        for i in range(10):
            with db.transaction() as txn:
                db.log_change(txn, f"w{name}-{i}")
                time.sleep(0.001)  # widen the window a racy read-then-write would fall into
            seen.append(txn.generation)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 41))
    assert writers[0].generation == 40
    for w in writers:
        w.close()


def test_reading_sees_one_committed_state(db: Database, database_url: str) -> None:
    put(db, FIVE_ARTICLES[0])
    other = Database(database_url)
    with db.reading():
        before = db.generation
        put(other, FIVE_ARTICLES[1], seed=1)  # commits meanwhile
        assert db.generation == before
        assert [s.article.id for s in db.load_articles(DIMENSION)] == ["volcano"]
    assert db.generation == before + 1
    other.close()


def test_the_writer_lock_is_held_by_one_database_at_a_time(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    order: list[str] = []
    with first.writer_lock():

        def take() -> None:
            with second.writer_lock():
                order.append("second")

        waiter = threading.Thread(target=take)
        waiter.start()
        time.sleep(0.3)
        order.append("first")
    waiter.join(10)
    assert order == ["first", "second"]
    first.close()
    second.close()


def test_corpora_on_one_database_see_each_others_writes(
    tmp_path: Path, embedder: FakeEmbedder, database_url: str
) -> None:
    # Two machines: each its own (empty) data directory, one database.
    one = Corpus(
        tmp_path / "one",
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        database_url=database_url,
    )
    two = Corpus(
        tmp_path / "two",
        embedder.name,
        embedder.dimension,
        refresh_seconds=0,
        database_url=database_url,
    )
    one.add_articles(FIVE_ARTICLES[:3], embedder)
    assert two.snapshot.article_count == 0
    assert two.refresh()
    assert sorted(two.snapshot.articles) == ["bread", "chess", "volcano"]
    two.add_articles(FIVE_ARTICLES[3:], embedder)
    two.delete_article("chess")
    assert one.refresh()
    assert sorted(one.snapshot.articles) == ["bees", "bread", "rail", "volcano"]
    assert one.snapshot.generation == two.snapshot.generation
    assert not list((tmp_path / "two").glob("*.sqlite"))  # the directory holds the checkpoint only
    one.close()
    two.close()
    # A third machine starts from an empty directory and reads the corpus from the database.
    three = Corpus.open_existing(tmp_path / "three", database_url=database_url)
    assert sorted(three.snapshot.articles) == ["bees", "bread", "rail", "volcano"]
    three.close()


def test_concurrent_corpora_on_one_database_take_turns(
    tmp_path: Path, embedder: FakeEmbedder, database_url: str
) -> None:
    corpora = [
        Corpus(
            tmp_path / f"dir{i}",
            embedder.name,
            embedder.dimension,
            refresh_seconds=0,
            database_url=database_url,
        )
        for i in range(3)
    ]
    start = threading.Barrier(len(corpora))

    def ingest(corpus: Corpus, n: int) -> None:
        start.wait()
        for i in range(5):
            article = Article(id=f"c{n}-{i}", title=f"Article {n} {i}", text=f"Text {n} {i}.")
            corpus.add_articles([article], embedder)

    threads = [threading.Thread(target=ingest, args=(c, n)) for n, c in enumerate(corpora)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in corpora:
        c.refresh()
        assert c.snapshot.article_count == 15
        assert c.snapshot.generation == 15
        c.close()


def test_an_sqlite_file_written_before_migrations_opens_with_its_data(tmp_path: Path) -> None:
    """A corpus file as the previous version wrote it: no Alembic table, passages without the
    entities column of an even older one."""
    path = tmp_path / DB_FILE
    vector = np.arange(DIMENSION, dtype=np.float32).tobytes()
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE articles (
                id TEXT PRIMARY KEY, title TEXT NOT NULL,
                author TEXT, outlet TEXT, section TEXT, standfirst TEXT, url TEXT, published TEXT,
                extra TEXT NOT NULL DEFAULT '{}', text TEXT NOT NULL, content_hash TEXT NOT NULL,
                added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
            CREATE TABLE passages (
                rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
                article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
                vector BLOB NOT NULL);
            CREATE TABLE sentences (
                rowid INTEGER PRIMARY KEY,
                passage_rowid INTEGER NOT NULL REFERENCES passages(rowid) ON DELETE CASCADE,
                start INTEGER NOT NULL, "end" INTEGER NOT NULL, vector BLOB NOT NULL);
            CREATE TABLE changes (generation INTEGER NOT NULL, article_id TEXT NOT NULL);
            INSERT INTO meta VALUES ('generation', '7'), ('model', 'old-model');
            INSERT INTO articles(id, title, text, content_hash)
                VALUES ('a', 'A', 'Hello there.', 'h');
            """
        )
        conn.execute("INSERT INTO passages VALUES (41, 'a:0', 'a', 0, 0, 12, ?)", (vector,))
        conn.execute("INSERT INTO sentences VALUES (5, 41, 0, 12, ?)", (vector,))
    conn.close()
    db = Database(sqlite_url(path))
    assert (db.generation, db.get_meta("model")) == (7, "old-model")
    [stored] = db.load_articles(DIMENSION)
    assert stored.rowids == [41]
    assert stored.passages[0].text == "Hello there." and stored.passages[0].entities == ()
    np.testing.assert_array_equal(stored.vectors[0], np.arange(DIMENSION, dtype=np.float32))
    with db.transaction() as txn:
        assert txn.generation == 8
        db.put_article(
            txn.conn,
            Article(id="b", title="B", text="Bye."),
            [],
            np.zeros((0, DIMENSION), np.float32),
            [],
        )
    db.close()
    again = Database(sqlite_url(path))  # opening it again migrates nothing
    assert again.generation == 8 and again.counts()["articles"] == 2
    with again.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version_index")).scalar()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert version == ScriptDirectory.from_config(config).get_current_head()  # the latest
    again.close()
