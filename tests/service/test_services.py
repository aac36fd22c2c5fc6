"""Building the services: the default corpus, and the refusal model stored with the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import CorruptIndexError, IndexMismatchError
from qa.conversation.models import Turn
from qa.extract import AnswerPicker, SentencePicker
from qa.refusal import (
    ANSWER_REFUSAL_KEY,
    DEFAULT_ANSWER_REFUSAL,
    DEFAULT_REFUSAL,
    REFUSAL_KEY,
    RefusalModel,
)
from service.services import build_services
from service.settings import Settings
from tests.fakes import FakeEmbedder

# The shipped refusal model and the key it is stored under, with and without the answer model.
PICKERS = pytest.mark.parametrize(
    ("answer_model", "shipped", "key"),
    [(True, DEFAULT_ANSWER_REFUSAL, ANSWER_REFUSAL_KEY), (False, DEFAULT_REFUSAL, REFUSAL_KEY)],
)


@PICKERS
def test_new_index_stores_the_shipped_refusal_model(
    tmp_path: Path, answer_model: bool, shipped: RefusalModel, key: str
) -> None:
    settings = Settings(data_dir=tmp_path, answer_model=answer_model)
    services = build_services(settings, embedder=FakeEmbedder())
    assert services.answerer.refusal == shipped
    kind = AnswerPicker if answer_model else SentencePicker
    assert isinstance(services.answerer.picker, kind)
    stored = json.loads(services.corpus.stored_setting(key) or "{}")
    assert stored == shipped.to_dict()
    assert len(services.corpus.snapshot.articles) == 1
    services.close()


@PICKERS
def test_stored_model_is_used_and_threshold_overridable(
    tmp_path: Path, answer_model: bool, shipped: RefusalModel, key: str
) -> None:
    settings = Settings(data_dir=tmp_path, answer_model=answer_model)
    services = build_services(settings, embedder=FakeEmbedder())
    custom = {**shipped.to_dict(), "threshold": 0.9}
    services.corpus.store_setting(key, json.dumps(custom))
    services.close()
    again = build_services(settings, embedder=FakeEmbedder())
    assert again.answerer.refusal is not None and again.answerer.refusal.threshold == 0.9
    again.close()
    override = build_services(
        settings.model_copy(update={"refusal_threshold": 0.2}), embedder=FakeEmbedder()
    )
    assert override.answerer.refusal is not None and override.answerer.refusal.threshold == 0.2
    override.close()


def test_each_picker_keeps_its_own_fit(tmp_path: Path) -> None:
    with_model = Settings(data_dir=tmp_path)
    services = build_services(with_model, embedder=FakeEmbedder())
    custom = {**DEFAULT_ANSWER_REFUSAL.to_dict(), "threshold": 0.7}
    services.corpus.store_setting(ANSWER_REFUSAL_KEY, json.dumps(custom))
    services.close()
    without = build_services(
        with_model.model_copy(update={"answer_model": False}), embedder=FakeEmbedder()
    )
    assert without.answerer.refusal == DEFAULT_REFUSAL
    without.close()
    again = build_services(with_model, embedder=FakeEmbedder())
    assert again.answerer.refusal is not None and again.answerer.refusal.threshold == 0.7
    again.close()


@PICKERS
def test_stale_model_is_replaced_and_garbage_refused(
    tmp_path: Path, answer_model: bool, shipped: RefusalModel, key: str
) -> None:
    settings = Settings(data_dir=tmp_path, answer_model=answer_model)
    services = build_services(settings, embedder=FakeEmbedder())
    stale = {**shipped.to_dict(), "features": ["dense", "known_terms"]}
    services.corpus.store_setting(key, json.dumps(stale))
    services.close()
    again = build_services(settings, embedder=FakeEmbedder())
    assert again.answerer.refusal == shipped
    again.corpus.store_setting(key, "{not json")
    again.close()
    with pytest.raises(CorruptIndexError, match="not JSON"):
        build_services(settings, embedder=FakeEmbedder())


def test_other_chunking_settings_are_refused(tmp_path: Path) -> None:
    build_services(Settings(data_dir=tmp_path), embedder=FakeEmbedder()).close()
    with pytest.raises(IndexMismatchError, match="built with settings"):
        build_services(Settings(data_dir=tmp_path, max_chars=400), embedder=FakeEmbedder())


def test_conversation_retention_comes_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, conversation_max_turns=7, conversation_max_age_days=2.5)
    services = build_services(settings, embedder=FakeEmbedder())
    assert (services.conversations.max_turns, services.conversations.max_age_days) == (7, 2.5)
    services.close()


def test_both_stores_open_in_the_configured_database(tmp_path: Path, postgres_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "one", database_url=postgres_url)
    services = build_services(settings, embedder=FakeEmbedder())
    services.conversations.append("c", Turn("Why?", "Why?", False, None, ()))
    services.close()
    assert not list((tmp_path / "one").glob("*.sqlite"))
    # Another server, its data directory empty, finds the corpus and the conversation there.
    other = build_services(
        settings.model_copy(update={"data_dir": tmp_path / "two"}), embedder=FakeEmbedder()
    )
    assert len(other.corpus.snapshot.articles) == 1
    assert [t.turn.question for t in other.conversations.turns("c")] == ["Why?"]
    other.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@h/db", "names 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "through psycopg 3"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_a_settings_error(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(database_url=url)
    assert Settings(database_url=" ").database_url is None
