"""What a corpus needs of the place its passages are searched: one small interface, one file
per backend (``segments``: FAISS and lexical segments in this process; ``milvus``: a Milvus
collection shared by replicas), one factory (``index/backends/__init__.py``) that picks one.

The database (``index/store.py``) is the source of truth for every backend: the writer commits
an article there, then hands the backend what it committed (``publish``); a backend turns the
database's state into the view answering reads (``view``), kept up with other processes' commits
(``refresh``/``catch_up``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from index.config import IndexConfig
from index.locks import WriterLocks
from index.merge import MergePolicy
from index.segment import ArticleRows
from index.store import Database
from index.view import CorpusView


@dataclass(frozen=True)
class BackendContext:
    """What every backend is opened with: the store, its data directory, the model (name,
    dimension) its vectors come from, the settings, and the writer locks it shares."""

    db: Database
    data_dir: Path
    model_name: str
    query_model: str
    dimension: int
    config: IndexConfig
    locks: WriterLocks


class Backend(Protocol):
    """The searchable copy of the corpus. Opening one (the factory, with the writer locks held)
    loads or repairs it from the database."""

    @property
    def view(self) -> CorpusView:
        """The current consistent view: one attribute read; readers never wait."""
        ...

    def catch_up(self) -> bool:
        """Take in the commits other processes made since the view (writer locks held);
        returns whether the view changed."""
        ...

    def refresh(self) -> bool:
        """``catch_up`` plus any repair the backend needs, called with only this process's
        write lock held (a repair takes the database's); returns whether anything changed."""
        ...

    def publish(self, generation: int, changed: Sequence[str], rows: Sequence[ArticleRows]) -> None:
        """Make a committed write searchable: the ``changed`` articles' old versions gone and
        ``rows`` (their new versions) in. Called with the writer locks held, after the commit."""
        ...

    def rebuild(self) -> CorpusView:
        """Rebuild the searchable copy from the database alone (writer locks held)."""
        ...

    def maintain(self) -> None:
        """One round of background housekeeping between refreshes (no lock held)."""
        ...

    def save(self) -> bool:
        """Persist what this process holds that the database does not; returns whether it
        wrote anything."""
        ...

    def check_ready(self) -> dict[str, Any]:
        """What readiness reports of the backend; raises ``CorpusError`` when it does not answer."""
        ...

    def close(self) -> None:
        """Release the backend's resources (the caller saves first)."""
        ...


@dataclass(frozen=True)
class SegmentsStore:
    """Passages searched in this process: FAISS and lexical segments, checkpointed in the data
    directory (the default)."""

    merge_policy: MergePolicy = field(default_factory=MergePolicy)


@dataclass(frozen=True)
class MilvusStore:
    """Passages searched on a Milvus collection shared by replicas."""

    uri: str
    collection: str = "passages"
    token: str | None = None


VectorStore = SegmentsStore | MilvusStore
