"""A corpus whose passages are searched on Milvus, for stateless replicas over shared engines:
``Corpus`` opened with a ``MilvusStore`` (``index/backends/milvus.py`` does the work). This
class only spells the constructor and names what the Milvus backend adds; it overrides nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.backends.base import MilvusStore
from index.backends.milvus import MilvusBackend
from index.config import IndexConfig
from index.corpus import Corpus
from index.milvus import MilvusCollection


class MilvusCorpus(Corpus):
    """``Corpus`` with its passages on the Milvus collection ``collection`` at ``milvus_uri``."""

    def __init__(
        self,
        data_dir: Path | str,
        model_name: str,
        dimension: int,
        config: IndexConfig | None = None,
        *,
        milvus_uri: str,
        collection: str = "passages",
        milvus_token: str | None = None,
        **options: Any,
    ) -> None:
        store = MilvusStore(milvus_uri, collection, milvus_token)
        super().__init__(data_dir, model_name, dimension, config, vector_store=store, **options)
        assert isinstance(self.backend, MilvusBackend)
        self.milvus: MilvusBackend = self.backend

    @property
    def collection(self) -> MilvusCollection:
        """The Milvus collection the passages are on."""
        return self.milvus.collection

    @property
    def milvus_generation(self) -> int:
        """The last generation whose writes Milvus holds."""
        return self.milvus.milvus_generation
