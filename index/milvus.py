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
import time
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


# The client's keepalive: no pings on an idle connection, and at most one every five minutes
# on a busy one. gRPC servers refuse pings more frequent than that by default (milvus-lite's
# among them: it answered pymilvus's 10 s pings with GOAWAY "too_many_pings", which failed the
# call in flight with UNAVAILABLE); pymilvus checks an idle connection before it reuses it.
GRPC_OPTIONS = {
    "grpc.keepalive_time_ms": 300_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.keepalive_permit_without_calls": False,
}
RETRY_PAUSE = 0.2  # seconds before a call the connection dropped is made again


class MilvusError(CorpusError):
    """Milvus cannot be reached or refused a request. The message names what failed, never
    the server's address or the filter expression: both go to the log."""


def _unavailable(exc: BaseException) -> bool:
    """Whether the connection, not the request, failed (the server closed it or is down)."""
    text = str(exc)
    return any(
        sign in text
        for sign in ("UNAVAILABLE", "Too many pings", "too_many_pings", "Fail connecting")
    )


def _failed(what: str, uri: str, exc: BaseException) -> MilvusError:
    """The error for a failed request: the details logged, a message safe to show."""
    log.warning("Milvus at %s failed to %s: %s", uri, what, exc)
    return MilvusError(f"Milvus failed to {what}")


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


# Escapes every Milvus expression parser reads (the server's and milvus-lite's): a raw line
# break ends a string literal, and a raw backslash starts an escape.
_LITERAL_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def storable(value: str) -> bool:
    """Whether a stored text can hold ``value`` (it encodes as UTF-8: no lone surrogates).
    A filter on any other value matches nothing, on every backend."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def quoted(value: str) -> str:
    """A string literal of Milvus's expression language holding ``value`` exactly: quotes,
    backslashes and line breaks escaped, so no value ends the literal or fails the parse."""
    return '"' + value.translate(_LITERAL_ESCAPES) + '"'


# Characters a LIKE pattern cannot hold the same way on every engine: milvus-lite's Arrow path
# reads only ``\\%`` and ``\\_`` as escapes (``\\\\`` is two backslashes), its Python path
# none, a Milvus server its own set.
LIKE_SPECIAL = frozenset("\\%_")


def like_is_loose(value: str) -> bool:
    """Whether the LIKE pattern of ``value`` matches more than ``value`` (the caller then
    checks the bylines it returns)."""
    return not LIKE_SPECIAL.isdisjoint(value)


def _like_substring(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere: each character LIKE reads specially becomes
    the one-character wildcard, so no engine's escaping matters (a superset when there is one:
    ``like_is_loose``)."""
    pattern = "".join("_" if ch in LIKE_SPECIAL else ch for ch in value)
    return quoted(f"%{pattern}%")


def expression(where: Where | None) -> str | None:
    """The Milvus filter expression of ``where`` ("" when it filters nothing, None when it
    matches nothing: a value no stored text can hold): the same matching as
    ``ArticleTable.matching`` and ``Snapshot.positions_of``."""
    if where is None:
        return ""
    parts = []
    if where.article_ids is not None:
        ids = sorted(i for i in where.article_ids if storable(i))
        if not ids:
            return None
        parts.append(f"article_id in [{', '.join(quoted(i) for i in ids)}]")
    for value in (where.outlet, where.author, where.published_from, where.published_to):
        if value is not None and not storable(value):
            return None
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
        self._token = token or ""
        try:
            self._open(MilvusClient)
        except MilvusError:
            raise
        except Exception as exc:
            if not _unavailable(exc):
                raise _failed(f"open collection {name!r}", uri, exc) from exc
            # A connection the server closed (a restart, a GOAWAY) is opened again once.
            log.warning("Milvus at %s did not answer (%s); connecting again", uri, exc)
            try:
                self._open(MilvusClient)
            except MilvusError:
                raise
            except Exception as again:
                raise _failed(f"open collection {name!r}", uri, again) from again

    def _open(self, client: Any) -> None:
        self._client = client(
            uri=self.uri, token=self._token, timeout=30, grpc_options=GRPC_OPTIONS
        )
        if not self._client.has_collection(self.name):
            self._create()
        else:
            self._check()
        self._client.load_collection(self.name)

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
                f"Milvus collection {self.name!r} holds the passages of another "
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
        """Call the client; once more after loading the collection (a restarted Milvus serves
        it again only once loaded) or after a dropped connection (every call here is
        idempotent: searches, counts, upserts by row id and deletes by condition)."""
        try:
            try:
                return getattr(self._client, method)(*args, **kwargs)
            except Exception as exc:
                if _unavailable(exc):
                    log.warning("Milvus at %s did not answer (%s); trying again", self.uri, exc)
                    time.sleep(RETRY_PAUSE)
                elif "load" in str(exc) or "released" in str(exc):
                    self._client.load_collection(self.name)
                else:
                    raise
                return getattr(self._client, method)(*args, **kwargs)
        except Exception as exc:
            raise _failed(what, self.uri, exc) from exc

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
        condition = expression(where)
        if condition is None:
            return _nothing()
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search("search vectors", data, "vector", k, condition)

    def lexical(
        self, terms: Sequence[str], k: int, where: Where | None = None
    ) -> tuple[Ids, Floats]:
        """Row ids and BM25 scores of the ``k`` passages best matching the (tokenized) terms,
        best first; nothing for no terms."""
        condition = expression(where)
        if not terms or condition is None:
            return _nothing()
        ids, scores = self._search("search text", [" ".join(terms)], "sparse", k, condition)
        # milvus-lite reports BM25 as a negative distance, a Milvus server as a positive score.
        return ids, np.abs(scores)

    def close(self) -> None:
        """Close the connection."""
        try:
            self._client.close()
        except Exception:  # closing a broken connection is not an error worth raising
            log.debug("closing the Milvus client failed", exc_info=True)


def _nothing() -> tuple[Ids, Floats]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
