"""``qa migrate``: a FAISS/SQLite data directory copied into PostgreSQL and Milvus (real ones),
answering the same there, and a second run changing nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from index.corpus import Corpus
from index.milvus_corpus import MilvusCorpus
from qa.conversation.models import Turn
from qa.conversation.store import ConversationStore
from qa.retrieve import Retriever
from service.services import CONVERSATIONS_FILE
from tests.conftest import FIVE_ARTICLES
from tests.engines import PostgresServer
from tests.fakes import FakeEmbedder
from tests.milvus_server import MilvusServer


def test_migrate_copies_articles_vectors_settings_and_conversations(
    tmp_path: Path, postgres: PostgresServer, milvus_server: MilvusServer, milvus_collection: str
) -> None:
    embedder = FakeEmbedder()
    source = tmp_path / "old"
    old = Corpus(source, embedder.name, embedder.dimension, refresh_seconds=0)
    old.add_articles(FIVE_ARTICLES, embedder)
    old.store_setting("refusal", '{"calibrated": true}')
    old.close()
    store = ConversationStore(source / CONVERSATIONS_FILE)
    store.append("c1", Turn("Where did the volcano erupt?", "volcano erupt", False, None, ()))
    store.close()
    url = postgres.new_database()
    env = {
        "QA_DATABASE_URL": url,
        "QA_VECTOR_STORE": "milvus",
        "QA_MILVUS_URI": milvus_server.uri,
        "QA_MILVUS_COLLECTION": milvus_collection,
        "QA_DATA_DIR": str(tmp_path / "cache"),
    }
    first = CliRunner().invoke(cli, ["migrate", "--from", str(source)], env=env)
    assert first.exit_code == 0, first.output
    assert "added 5" in first.output and "conversation turns: 1 added" in first.output
    again = CliRunner().invoke(cli, ["migrate", "--from", str(source)], env=env)
    assert again.exit_code == 0, again.output
    assert "unchanged 5" in again.output and "conversation turns: 0 added" in again.output

    before = Corpus(source, embedder.name, embedder.dimension, refresh_seconds=0)
    after = MilvusCorpus(
        tmp_path / "cache",
        embedder.name,
        embedder.dimension,
        milvus_uri=milvus_server.uri,
        collection=milvus_collection,
        database_url=url,
        refresh_seconds=0,
    )
    retriever = Retriever(embedder)
    for question in ("volcano lava", "sourdough yeast", "chess draw"):
        query = retriever.encode(question)
        expected = [h.passage.id for h in retriever.search(before.snapshot, query, 3)]
        assert [h.passage.id for h in retriever.search(after.snapshot, query, 3)] == expected
    assert after.stored_setting("refusal") == '{"calibrated": true}'
    assert after.db.generation == 1  # one batch copied; the second run committed nothing
    assert after.collection.count() == before.snapshot.passage_count
    turns = ConversationStore(url)
    assert [t.turn.question for t in turns.turns("c1")] == ["Where did the volcano erupt?"]
    turns.close()
    before.close()
    after.collection.drop()
    after.close()


def test_migrate_with_no_target_store_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["migrate", "--from", str(tmp_path)], env={"QA_DATA_DIR": str(tmp_path / "d")}
    )
    assert result.exit_code != 0
    assert "nothing to migrate to" in result.output
