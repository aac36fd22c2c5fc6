"""The backends a corpus searches its passages on, behind one interface (``base.Backend``),
and the factory that opens the one a ``VectorStore`` names."""

from __future__ import annotations

from index.backends.base import (
    Backend,
    BackendContext,
    MilvusStore,
    SegmentsStore,
    VectorStore,
)


def open_backend(
    store: VectorStore, context: BackendContext, *, checkpoint_seconds: float = 60.0
) -> Backend:
    """Open the backend ``store`` names (call with the writer locks held: opening loads or
    repairs it from the database). pymilvus is imported only for a Milvus store."""
    if isinstance(store, MilvusStore):
        from index.backends.milvus import MilvusBackend

        return MilvusBackend(context, store)
    from index.backends.segments import SegmentsBackend

    return SegmentsBackend(context, store.merge_policy, checkpoint_seconds)


__all__ = [
    "Backend",
    "BackendContext",
    "MilvusStore",
    "SegmentsStore",
    "VectorStore",
    "open_backend",
]
