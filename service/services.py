"""Build the heavy objects (model, corpus, pipeline) once, from settings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from index.background import Loading
from index.corpus import DEFAULT_CORPUS_KEY, Corpus, IngestReport
from index.embed import (
    DeferredEmbedder,
    Embedder,
    SentenceTransformerEmbedder,
    SplitEmbedder,
    available_cores,
)
from index.entities import EntityTagger, spacy_tagger
from index.errors import CorruptIndexError
from index.models import Article
from index.sources import SourceError, default_corpus_dir, read_paths
from index.stories import StoryIndex
from index.vectors import set_threads
from qa.answer import Answerer
from qa.conversation.store import ConversationStore
from qa.extract import AnswerPicker, Picker, SentencePicker
from qa.reader import AnswerModel
from qa.refusal import (
    ANSWER_FEATURES,
    DEFAULT_ANSWER_REFUSAL,
    DEFAULT_REFUSAL,
    FEATURES,
    RefusalModel,
    refusal_key,
)
from qa.retrieve import Retriever
from service.settings import Settings

log = logging.getLogger(__name__)
CONVERSATIONS_FILE = "conversations.sqlite"


@dataclass
class Services:
    """What the routes and the CLI work with."""

    settings: Settings
    embedder: Embedder
    corpus: Corpus
    answerer: Answerer
    conversations: ConversationStore

    @property
    def writes_loaded(self) -> bool:
        """Whether the models only writes use (the passage model, the entity tagger), loaded
        in the background, have finished loading."""
        parts = (self.embedder, self.corpus.tagger)
        return all(getattr(part, "loaded", True) for part in parts)

    def close(self) -> None:
        """Release the databases."""
        self.corpus.close()
        self.conversations.close()


def load_embedder(settings: Settings, background: bool = False) -> Embedder:
    """The encoders the settings name: the sentence-transformers model for passages on every
    core, and the question encoder. With ``background`` and the int8 question encoder (the
    default) the passage model loads in a background thread: a server answers questions before
    it is ready, and the first write waits for it. Without ``background`` it loads in the
    thread of the first write, if there is one: no load outlives the command that started it,
    and a command that only asks never loads PyTorch."""
    encoder = settings.query_encoder
    if encoder == "auto":
        encoder = "int8" if settings.model_path is None else "fp32"

    def passage_model() -> Embedder:
        return SentenceTransformerEmbedder(
            model_path=settings.model_path,
            name=settings.model_name,
            threads=settings.ingest_threads,
        )

    if encoder == "fp32":
        return passage_model()
    from index.onnx_embed import OnnxEmbedder

    queries = OnnxEmbedder(threads=1)
    queries.model = settings.model_name  # the same model, under the name the settings record
    # A command (qa ask) that embeds no passage never loads PyTorch: the model loads when the
    # first passages are embedded, or from now on in the background for a server.
    passages = DeferredEmbedder(
        Loading(passage_model, "the passage model (PyTorch)", eager=background),
        settings.model_name,
        queries.dimension,
    )
    return SplitEmbedder(passages, queries)


def load_tagger(settings: Settings, background: bool = False) -> EntityTagger | None:
    """The entity tagger for ingest (spaCy, loaded once per process: from now on in the
    ``background``, else when it first tags), unless turned off."""
    return spacy_tagger(eager=background) if settings.entities else None


def ingest_default_corpus(corpus: Corpus, embedder: Embedder) -> IngestReport:
    """Ingest the bundled article(s); returns the report."""
    articles = []
    for item in read_paths(sorted(default_corpus_dir().glob("*.txt"))):
        if isinstance(item, SourceError):
            raise RuntimeError(f"the bundled corpus cannot be read: {item.source}: {item.reason}")
        articles.append(item)
    report = corpus.add_articles(articles, embedder)
    # Recorded, so that a store emptied later never gets the bundled article back.
    corpus.store_setting(DEFAULT_CORPUS_KEY, "ingested")
    corpus.checkpoint()  # the next start reads the new store from its checkpoint
    return report


def answer_picker(settings: Settings) -> Picker:
    """The answer-sentence picker the settings ask for: the answer model (loaded here, its hash
    checked), or with ``answer_model`` off the similarity-and-rules picker."""
    if not settings.answer_model:
        return SentencePicker(recency_margin=settings.recency_margin)
    return AnswerPicker(
        AnswerModel(),
        passages=settings.answer_passages,
        sentences=settings.answer_sentences,
        recency_margin=settings.answer_recency_margin,
    )


def refusal_model(corpus: Corpus, settings: Settings, answer_score: bool = False) -> RefusalModel:
    """The refusal model stored with the index (the shipped calibration for a new index), with
    the threshold from the settings if they set one; ``answer_score``: the one that reads the
    answer model's score."""
    features = ANSWER_FEATURES if answer_score else FEATURES
    shipped = DEFAULT_ANSWER_REFUSAL if answer_score else DEFAULT_REFUSAL
    key = refusal_key(features)
    stored = corpus.stored_setting(key)
    try:
        data = json.loads(stored) if stored is not None else None
    except ValueError as exc:
        raise CorruptIndexError(
            f"the refusal model stored with the index is not JSON: {exc}"
        ) from exc
    if isinstance(data, dict) and data.get("features") != list(features):
        # Fitted on other signals than this version computes: it cannot be applied.
        log.warning("the stored refusal model uses other features; using the shipped one")
        data = None
    if data is None:
        model = shipped
        corpus.store_setting(key, json.dumps(model.to_dict()))
    else:
        try:
            model = RefusalModel.from_dict(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            message = f"the refusal model stored with the index is invalid: {exc}"
            raise CorruptIndexError(message) from exc
    if settings.refusal_threshold is not None:
        model = replace(model, threshold=settings.refusal_threshold)
    return model


def open_corpus(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    query_model: str | None = None,
    refresh_seconds: float = 0.5,
    model: tuple[str, int] | None = None,
    background: bool = False,
) -> Corpus:
    """The corpus the settings name: its database (``database_url``, or SQLite in
    ``data_dir``) searched through FAISS in this process or through the Milvus collection.
    Without ``embedder`` (work that embeds nothing: listing, deleting) it opens for the model
    that built the index, with no entity tagger; ``model`` (name, dimension) opens a new
    store for vectors made elsewhere (``qa migrate``); ``background`` loads the entity tagger
    from now on in a thread (a server), else when it first tags."""
    backend: dict[str, Any] = {}
    kind: type[Corpus] = Corpus
    if settings.vector_store == "milvus":
        from index.milvus_corpus import MilvusCorpus

        kind = MilvusCorpus
        token = settings.milvus_token
        backend = {
            "milvus_uri": settings.milvus_uri,
            "collection": settings.milvus_collection,
            "milvus_token": None if token is None else token.get_secret_value(),
        }
    if embedder is None and model is not None:
        return kind(
            settings.data_dir,
            *model,
            settings.index_config(),
            database_url=settings.database_url,
            refresh_seconds=0,
            **backend,
        )
    if embedder is None:
        return kind.open_existing(
            settings.data_dir, settings.index_config(), settings.database_url, **backend
        )
    return kind(
        settings.data_dir,
        embedder.name,
        embedder.dimension,
        settings.index_config(),
        tagger=load_tagger(settings, background),
        query_model=query_model,
        database_url=settings.database_url,
        refresh_seconds=refresh_seconds,
        **backend,
    )


def settings_retriever(settings: Settings, embedder: Embedder) -> Retriever:
    """The retriever as the settings configure it: what the service ranks with."""
    return Retriever(
        embedder,
        method=settings.retrieval_method,
        dense_weight=settings.dense_weight,
        sentence_weight=settings.sentence_weight,
        lexical_coverage=settings.lexical_coverage,
        max_per_article=settings.max_per_article,
        recency_margin=settings.recency_margin,
        acronyms=settings.acronyms,
        latest_half_life=settings.latest_half_life_days,
        latest_floor=settings.latest_floor,
        latest_margin=settings.latest_margin,
    )


def build_services(
    settings: Settings, embedder: Embedder | None = None, background: bool = False
) -> Services:
    """Open the corpus in the settings' data directory, seeding it with the default corpus;
    ``background`` as for ``load_embedder`` (a server)."""
    # Set explicitly: a container's core count is not what the libraries' defaults read.
    set_threads(settings.ingest_threads or available_cores())
    embedder = embedder or load_embedder(settings, background)
    corpus = open_corpus(
        settings,
        embedder,
        query_model=getattr(embedder, "query_name", None),
        background=background,
    )
    if settings.ingest_default_corpus and not corpus.initialised:
        report = ingest_default_corpus(corpus, embedder)
        log.info("new data directory: ingested the default corpus (%s)", report.summary())
    retriever = settings_retriever(settings, embedder)
    picker = answer_picker(settings)
    refusal = refusal_model(corpus, settings, answer_score=picker.scores)
    stories = StoryIndex(corpus.db.engine, threshold=settings.story_threshold)
    answerer = Answerer(corpus, retriever, picker, refusal, stories=stories)
    conversations = open_conversations(settings)
    return Services(
        settings=settings,
        embedder=embedder,
        corpus=corpus,
        answerer=answerer,
        conversations=conversations,
    )


def open_conversations(settings: Settings) -> ConversationStore:
    """The conversation store the settings name, with their limits on turns and age: the one
    place a store is opened, for the service, feedback export and migrate alike."""
    # With a database URL, the conversations' tables sit beside the index's in that database.
    return ConversationStore(
        settings.database_url or settings.data_dir / CONVERSATIONS_FILE,
        max_turns=settings.conversation_max_turns,
        max_age_days=settings.conversation_max_age_days,
        max_total_turns=settings.conversation_max_total_turns,
    )


def article_list(corpus: Corpus) -> list[tuple[Article, int]]:
    """Every article (metadata only) with its passage count, ordered by id."""
    return list(corpus.snapshot.iter_articles())
