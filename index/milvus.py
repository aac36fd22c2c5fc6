"""The passage collection on Milvus: dense search and BM25 full-text search, filtered by
expressions, for a corpus too large for one process's memory.

One row per passage, keyed by the passage's row id in the database (the source of truth): the
passage vector; the indexed text (title and passage) for reading; ``terms``, the passage's words
as ``index.text.tokenize`` makes them (stemmed, stopwords out), from which Milvus's own BM25
function makes the sparse vector, so the lexical side scores the same words on both backends
whatever analyzer the Milvus release ships; and the fields filters read (article id, outlet and
author case-folded, the publication day as ISO text).

pymilvus is imported when a collection is opened, so the embedded FAISS default does not load it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.arrays import Floats, Ids
from index.errors import CorpusError
from index.models import Where

log = logging.getLogger(__name__)


MAX_ID_CHARS = 1024
MAX_TEXT_CHARS = 65_535
# Articles per upsert and delete request.
PUT_BATCH = 256
# The collection property naming the database (``store_id`` in its meta table) it belongs to.
OWNER = "cited_answers.store"


class MilvusError(CorpusError):
    """Milvus cannot be reached or refused a request."""


@dataclass(frozen=True)
class MilvusRow:
    """A passage as the collection holds it."""

    rowid: int
    article_id: str
    text: str
    terms: str
    vector: Floats
    outlet: str  # case-folded; "" when unknown
    author: str  # case-folded; "" when unknown
    day: str  # ISO YYYY-MM-DD; "" when undated

    def as_dict(self) -> dict[str, Any]:
        """The row as pymilvus takes it."""
        return {
            "id": self.rowid,
            "article_id": self.article_id,
            "text": self.text[:MAX_TEXT_CHARS],
            "terms": self.terms[:MAX_TEXT_CHARS],
            "vector": np.asarray(self.vector, dtype=np.float32).tolist(),
            "outlet": self.outlet[:MAX_ID_CHARS],
            "author": self.author[:MAX_ID_CHARS],
            "day": self.day[:10],
        }


def quoted(value: str) -> str:
    """A string literal of Milvus's expression language."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _like_substring(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, its own wildcards taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return quoted(f"%{escaped}%")


def expression(where: Where | None) -> str:
    """The Milvus filter expression of ``where`` ("" when it filters nothing): the same
    matching as ``ArticleTable.matching`` and ``Snapshot.positions_of``."""
    if where is None:
        return ""
    parts = []
    if where.article_ids is not None:
        ids = sorted(where.article_ids)
        parts.append(f"article_id in [{', '.join(quoted(i) for i in ids)}]")
    if where.outlet is not None:
        parts.append(f"outlet == {quoted(where.outlet.casefold())}")
    if where.author is not None:
        parts.append(f"author like {_like_substring(where.author.casefold())}")
    if where.published_from is not None or where.published_to is not None:
        parts.append('day != ""')
        if where.published_from is not None:
            parts.append(f"day >= {quoted(where.published_from)}")
        if where.published_to is not None:
            parts.append(f"day <= {quoted(where.published_to)}")
    return " and ".join(parts)


class MilvusCollection:
    """A Milvus collection of passages, created on first open.

    ``uri`` is a Milvus server (``http://host:19530``) or a milvus-lite file. ``owner`` names the
    database whose passages the collection holds (its row ids are that database's): it is
    a property of the collection, set when created and checked at every open, so a
    collection is never read against another database's row ids. Searches read with
    Strong consistency: a passage whose write returned is found by the next search on any
    replica (docs/SCALING.md says what a cluster would change).
    """

    def __init__(
        self, uri: str, name: str, dimension: int, owner: str, token: str | None = None
    ) -> None:
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:  # pragma: no cover - pymilvus is a dependency
            raise MilvusError(
                "the milvus vector store needs pymilvus: pip install pymilvus"
            ) from exc
        self.uri, self.name, self.dimension = uri, name, dimension
        self.owner = owner
        try:
            self._client = MilvusClient(uri=uri, token=token or "", timeout=30)
            if not self._client.has_collection(name):
                self._create()
            else:
                self._check()
            self._client.load_collection(name)
        except MilvusError:
            raise
        except Exception as exc:
            raise MilvusError(f"Milvus at {uri} cannot open collection {name!r}: {exc}") from exc

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self._client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("article_id", DataType.VARCHAR, max_length=MAX_ID_CHARS)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_CHARS)
        # Our tokens, space-separated: Milvus's standard tokenizer splits them back as they are.
        schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT_CHARS, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field("outlet", DataType.VARCHAR, max_length=MAX_ID_CHARS)
        schema.add_field("author", DataType.VARCHAR, max_length=MAX_ID_CHARS)
        schema.add_field("day", DataType.VARCHAR, max_length=10)
        schema.add_function(
            Function(
                name="terms_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["sparse"],
            )
        )
        index = self._client.prepare_index_params()
        # Inner product = cosine on unit vectors. AUTOINDEX lets the server pick (HNSW on a
        # Milvus server; milvus-lite searches exactly).
        index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
        # Lucene's constants, as index/lexical.py uses.
        index.add_index(
            "sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": 1.2, "bm25_b": 0.75},
        )
        index.add_index("article_id", index_type="INVERTED")
        self._client.create_collection(
            self.name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
            properties={OWNER: self.owner},
        )
        log.info("created Milvus collection %s at %s", self.name, self.uri)

    def _check(self) -> None:
        info = self._client.describe_collection(self.name)
        owner = (info.get("properties") or {}).get(OWNER)
        if owner != self.owner:
            raise MilvusError(
                f"Milvus collection {self.name!r} at {self.uri} holds the passages of another "
                f"database (store {owner}, not {self.owner}); name another collection "
                "(QA_MILVUS_COLLECTION) or drop that one"
            )
        for field in info.get("fields", []):
            if field.get("name") == "vector":
                dim = int(field.get("params", {}).get("dim", 0))
                if dim != self.dimension:
                    raise MilvusError(
                        f"Milvus collection {self.name!r} holds vectors of dimension {dim}, "
                        f"but the model makes {self.dimension}; use another collection name"
                    )

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return getattr(self._client, method)(*args, **kwargs)
            except Exception as exc:
                # A restarted Milvus serves the collection again only once it is loaded.
                if "load" not in str(exc) and "released" not in str(exc):
                    raise
                self._client.load_collection(self.name)
                return getattr(self._client, method)(*args, **kwargs)
        except Exception as exc:
            raise MilvusError(f"Milvus at {self.uri} failed to {what}: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------------

    def put(self, articles: Mapping[str, Sequence[MilvusRow]]) -> None:
        """Make the collection hold exactly these passages of these articles (none: the article
        is gone): upserted by row id, then every other passage of the articles deleted, a batch
        of articles per request. Repeating it changes nothing."""
        ids = list(articles)
        for i in range(0, len(ids), PUT_BATCH):
            chunk = ids[i : i + PUT_BATCH]
            rows = [r.as_dict() for a in chunk for r in articles[a]]
            if rows:
                self._call("upsert passages", "upsert", self.name, rows)
            condition = f"article_id in [{', '.join(quoted(a) for a in chunk)}]"
            if rows:
                condition += f" and id not in [{', '.join(str(r['id']) for r in rows)}]"
            self._call("delete passages", "delete", self.name, filter=condition)

    def drop(self) -> None:
        """Delete the collection."""
        self._call("drop the collection", "drop_collection", self.name)

    # -- reading ---------------------------------------------------------------------------------

    def count(self) -> int:
        """Passages in the collection."""
        found = self._call(
            "count passages", "query", self.name, filter="", output_fields=["count(*)"]
        )
        return int(found[0]["count(*)"]) if found else 0

    def _search(
        self, what: str, data: list[Any], field: str, limit: int, condition: str
    ) -> tuple[Ids, Floats]:
        found = self._call(
            what,
            "search",
            self.name,
            data=data,
            anns_field=field,
            limit=limit,
            filter=condition,
            output_fields=["id"],
        )
        hits = found[0] if found else []
        ids = np.fromiter((int(h["id"]) for h in hits), dtype=np.int64, count=len(hits))
        scores = np.fromiter(
            (float(h["distance"]) for h in hits), dtype=np.float32, count=len(hits)
        )
        return ids, scores

    def dense(self, vector: Floats, k: int, where: Where | None = None) -> tuple[Ids, Floats]:
        """Row ids and cosines of the ``k`` passages nearest ``vector``, best first."""
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search("search vectors", data, "vector", k, expression(where))

    def lexical(
        self, terms: Sequence[str], k: int, where: Where | None = None
    ) -> tuple[Ids, Floats]:
        """Row ids and BM25 scores of the ``k`` passages best matching the (tokenized) terms,
        best first; nothing for no terms."""
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = self._search("search text", [" ".join(terms)], "sparse", k, expression(where))
        # milvus-lite reports BM25 as a negative distance, a Milvus server as a positive score.
        return ids, np.abs(scores)

    def close(self) -> None:
        """Close the connection."""
        try:
            self._client.close()
        except Exception:  # closing a broken connection is not an error worth raising
            log.debug("closing the Milvus client failed", exc_info=True)
