"""Service settings, read from ``QA_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.corpus import IndexConfig
from index.engine import check_url


class Settings(BaseSettings):
    """Every knob of the service; ``QA_DATA_DIR=/srv/qa`` sets ``data_dir`` and so on."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder of the database, index and manifest.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database holding the articles and conversations, e.g."
        " postgresql+psycopg://qa@db/qa shared by several servers; unset: SQLite files in"
        " data_dir.",
    )
    vector_store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where passages are searched: 'faiss', an index in each process's memory,"
        " read from the database and checkpointed in data_dir; 'milvus', a Milvus collection"
        " shared by every server (QA_MILVUS_URI), data_dir holding caches only.",
    )
    milvus_uri: str | None = Field(
        None,
        description="The Milvus server (http://host:19530) or a milvus-lite file, with"
        " vector_store=milvus.",
    )
    milvus_token: SecretStr | None = Field(
        None,
        description="Milvus credentials, 'user:password' or an API key, when the server asks"
        " for them.",
    )
    milvus_collection: str = Field(
        "passages",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$",
        description="Name of the Milvus collection of passages.",
    )
    model_path: str | None = Field(
        None, description="Local sentence-transformers model folder; default: the packaged one."
    )
    model_name: str = Field("all-MiniLM-L6-v2", description="Name recorded in the manifest.")
    query_encoder: Literal["auto", "int8", "fp32"] = Field(
        "auto",
        description="What encodes questions: 'int8', the packaged model as int8 ONNX on one"
        " thread per question (vectors within 0.999 cosine of the full-precision model's, about"
        " twice as fast); 'fp32', the model that embeds passages; 'auto', int8 for the packaged"
        " model and fp32 when model_path names another.",
    )
    exact_below: int = Field(
        20_000,
        ge=1,
        description="Segments of this many passages or more get an approximate (HNSW) index;"
        " smaller ones are searched exactly.",
    )
    ingest_threads: int | None = Field(
        None,
        ge=1,
        description="Threads that embed a batch of passages (PyTorch) and build indexes (FAISS);"
        " default: every core this process may use. A question uses one thread.",
    )
    ingest_default_corpus: bool = Field(
        True, description="Ingest the bundled article when the data directory is empty."
    )
    default_top_k: int = Field(5, ge=1, le=50)
    max_chars: int = Field(800, ge=100, description="Longest passage, in characters.")
    min_chars: int = Field(120, ge=0, description="Shorter passages merge with the next one.")
    title_context: bool = Field(
        True, description="Index each passage with its article's title in front."
    )
    entities: bool = Field(
        True,
        description="Tag named entities at ingest (spaCy), for answers of the kind a question"
        " asks for and the exact answer span.",
    )
    retrieval_method: Literal["dense", "bm25", "hybrid"] = Field(
        "hybrid", description="How passages are ranked."
    )
    dense_weight: float = Field(
        0.6, ge=0, le=1, description="Hybrid: weight of the dense part against BM25."
    )
    sentence_weight: float = Field(
        1.0, ge=0, description="Hybrid: weight of the best sentence's cosine in the dense part."
    )
    lexical_coverage: bool = Field(
        True,
        description="Hybrid: scale the BM25 part by the share of the question's IDF mass that"
        " the corpus holds.",
    )
    acronyms: bool = Field(
        True,
        description="BM25 also looks for the other form of an acronym the corpus spells out"
        " (CPEC and China-Pakistan Economic Corridor).",
    )
    max_per_article: int | None = Field(
        2, ge=1, description="Cap on citations from one article while others are left."
    )
    recency_margin: float = Field(
        0.1,
        ge=0,
        le=1,
        description="A newer article wins a near-tie: among candidates scoring within this"
        " margin of the best remaining one, the most recently published ranks first.",
    )
    latest_half_life_days: float = Field(
        30.0,
        gt=0,
        description="A question asking for the latest word (latest, current, now, still)"
        " halves an article's weight for each this many days it is older than the newest"
        " candidate, down to latest_floor.",
    )
    latest_floor: float = Field(
        0.5, ge=0, le=1, description="The least weight the recency prior leaves an old article."
    )
    latest_margin: float = Field(
        0.1,
        ge=0,
        le=1,
        description="For a latest-word question, the near-tie margin within which the newest"
        " version of a story ranks first.",
    )
    answer_model: bool = Field(
        True,
        description="Judge answer sentences, answer spans and refusals with the answer model"
        " (qa/answer_model/CARD.md); off: by similarity and rules, as before it.",
    )
    answer_passages: int = Field(
        4, ge=1, le=50, description="Passages whose sentences are candidates for the answer."
    )
    answer_sentences: int = Field(
        8,
        ge=1,
        le=200,
        description="Candidate sentences the answer model reads (the best by similarity): its"
        " cost per question.",
    )
    answer_recency_margin: float = Field(
        0.5,
        ge=0,
        description="With the answer model: among sentences whose logit is within this margin"
        " of the best, the one from the most recently published article answers.",
    )
    api_key: SecretStr | None = Field(
        None, description="Bearer token that enables the write endpoints; unset: writes are off."
    )
    max_upload_bytes: int = Field(
        20_000_000, ge=1, description="Largest request body the write endpoints accept."
    )
    max_body_bytes: int = Field(
        65_536, ge=1, description="Largest request body every other endpoint accepts."
    )
    max_bulk_articles: int = Field(
        5_000, ge=1, description="Most articles one POST /api/articles:bulk may hold."
    )
    max_line_bytes: int = Field(
        5_000_000, ge=1, description="Longest line of a JSONL body, in bytes."
    )
    rate_limit: str | None = Field(
        None,
        description="Requests per client address on /api/ routes, e.g. '60/minute' or"
        " '5/second'; unset: no limit.",
    )
    max_concurrent_questions: int = Field(
        2, ge=1, description="Questions and searches worked on at once; more wait their turn."
    )
    max_queued_questions: int = Field(
        64, ge=0, description="Questions that may wait; past this, 503 with Retry-After."
    )
    docs: bool = Field(True, description="Serve /docs and /openapi.json.")
    shutdown_grace_seconds: int = Field(
        60, ge=0, description="On SIGTERM, how long requests in flight may take to finish."
    )
    followup_specificity: float = Field(
        2.0,
        ge=0,
        description="A question whose known content words sum to less IDF than this is read"
        " after the turn before it.",
    )
    conversation_max_turns: int = Field(
        100, ge=1, description="Turns kept per conversation; older ones are dropped."
    )
    conversation_max_total_turns: int = Field(
        100_000,
        ge=1,
        description="Turns kept in all conversations together; past this the oldest are deleted"
        " (a turn is about 1 KB at top_k 5, at most about 12 KB at top_k 50).",
    )
    conversation_max_age_days: float = Field(
        30.0, gt=0, description="Turns older than this many days are deleted."
    )
    refusal_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Override the calibrated answer-probability threshold stored with the index.",
    )

    feed_poll: bool = Field(
        True,
        description="qa serve polls the registered feeds in the background (one replica at a"
        " time, by a lease in the database); off: feeds are polled by `qa feeds poll` only.",
    )
    feed_interval_minutes: float = Field(
        15.0, gt=0, description="How often a feed added without an interval is fetched."
    )
    fetch_allow_private: bool = Field(
        False,
        description="Let the fetcher reach loopback, private, link-local and other non-public"
        " addresses (a deployment that reads its own network, or tests on loopback); off, such"
        " an address is refused, redirects included.",
    )
    fetch_timeout_seconds: float = Field(
        20.0, gt=0, description="Longest a page or feed fetch may take, start to last byte."
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=1, description="Largest page or feed read; reading stops at the limit."
    )
    fetch_host_delay_seconds: float = Field(
        1.0, ge=0, description="Least time between two requests to one host."
    )
    story_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Share of the shorter article's word 5-shingles found in the longer one at"
        " which two articles are copies of one story (estimated by MinHash). Copies measured"
        " 0.72 and up, follow-up reports of a story 0.41-0.65 (bench/stories.py).",
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: object) -> object:
        # QA_API_KEY= (set but empty) must turn writes off, not accept an empty bearer token.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url_parses(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                check_url(value.strip())
            except ValueError as exc:
                raise ValueError(f"QA_DATABASE_URL: {exc}") from exc
            return value.strip()
        return value

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _rate_limit_parses(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(
                    f"QA_RATE_LIMIT {value!r} is not a rate such as '60/minute' or '5/second'"
                ) from exc
        return value

    @model_validator(mode="after")
    def _int8_runs_the_packaged_model(self) -> Settings:
        if self.query_encoder == "int8" and self.model_path is not None:
            raise ValueError(
                "QA_QUERY_ENCODER=int8 runs the packaged all-MiniLM-L6-v2, but QA_MODEL_PATH "
                "names another model: set QA_QUERY_ENCODER=fp32 (or auto)"
            )
        return self

    @model_validator(mode="after")
    def _milvus_has_an_address(self) -> Settings:
        if self.vector_store == "milvus" and not (self.milvus_uri or "").strip():
            raise ValueError(
                "QA_VECTOR_STORE=milvus needs QA_MILVUS_URI: a Milvus server such as "
                "http://milvus:19530, or a milvus-lite file path"
            )
        return self

    def index_config(self) -> IndexConfig:
        """How the corpus is cut and indexed."""
        return IndexConfig(
            self.max_chars, self.min_chars, self.title_context, exact_below=self.exact_below
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
