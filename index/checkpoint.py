"""Checkpoints: the segments of a snapshot saved beside the database, so that opening a data
directory reads vectors from FAISS files instead of every vector row of SQLite.

The database stays the source of truth and its log of changes the way forward: a checkpoint
records the generation it holds; on open, the articles the log names after that generation are
read from the database, and every article the checkpoint holds that is gone or changed is left
out. A checkpoint that is missing, damaged or older than the log reaches is simply not used: the
store is rebuilt from the database (``qa reindex`` rewrites it on purpose).

Files, in ``segments/``: ``<name>.faiss`` (the segment's FAISS index of passage vectors, of the
kind its manifest entry names under ``index``: flat when the entry has none, as before kinds) and
``<name>.npz`` (row ids, article ids, sentence bounds and vectors); a segment is written once,
under the name it keeps until a merge replaces it. The manifest lists the segments of the last
checkpoint with their checksums; files it does not list are removed when the next one is written.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.errors import CorruptIndexError
from index.manifest import MANIFEST_FILE, MANIFEST_FORMAT, read_manifest
from index.segment import Segment
from index.snapshot import Snapshot
from index.vectors import VectorIndex, atomic_write_bytes, index_from_bytes

log = logging.getLogger(__name__)

SEGMENTS_DIR = "segments"


@dataclass(frozen=True)
class SavedSegment:
    """A checkpointed segment as read back: what the database does not hold in its own rows."""

    name: str
    rowids: npt.NDArray[np.int64]
    article_ids: npt.NDArray[np.str_]
    index: VectorIndex  # the passage vectors (``index.matrix``), searchable as saved
    sentence_bounds: npt.NDArray[np.int64]
    sentence_vectors: npt.NDArray[np.float32]


def _files(data_dir: Path, name: str) -> tuple[Path, Path]:
    folder = data_dir / SEGMENTS_DIR
    return folder / f"{name}.faiss", folder / f"{name}.npz"


def save_segment(data_dir: Path, segment: Segment) -> dict[str, Any]:
    """Write a segment's files (unless they are there already); returns its manifest entry."""
    faiss_path, arrays_path = _files(data_dir, segment.name)
    faiss_path.parent.mkdir(exist_ok=True)
    if faiss_path.exists() and arrays_path.exists():
        index_bytes, array_bytes = faiss_path.read_bytes(), arrays_path.read_bytes()
    else:
        index_bytes = segment.vectors.to_bytes()
        buffer = io.BytesIO()
        np.savez(
            buffer,
            rowids=segment.rowids,
            article_ids=np.asarray([p.article_id for p in segment.passages], dtype=np.str_),
            sentence_bounds=segment.sentence_bounds,
            sentence_vectors=segment.sentence_vectors,
        )
        array_bytes = buffer.getvalue()
        atomic_write_bytes(faiss_path, index_bytes)
        atomic_write_bytes(arrays_path, array_bytes)
    return {
        "name": segment.name,
        "passages": len(segment),
        "index": segment.vectors.description,
        "sha256": hashlib.sha256(index_bytes + array_bytes).hexdigest(),
    }


def load_segment(data_dir: Path, entry: dict[str, Any], dimension: int) -> SavedSegment:
    """Read a checkpointed segment; raises ``CorruptIndexError`` when its files are missing,
    damaged or do not match the manifest."""
    name = str(entry.get("name"))
    faiss_path, arrays_path = _files(data_dir, name)
    try:
        index_bytes, array_bytes = faiss_path.read_bytes(), arrays_path.read_bytes()
    except OSError as exc:
        raise CorruptIndexError(f"segment {name} cannot be read: {exc}") from exc
    if hashlib.sha256(index_bytes + array_bytes).hexdigest() != entry.get("sha256"):
        raise CorruptIndexError(f"segment {name} does not match its checksum")
    try:
        index = index_from_bytes(index_bytes, entry.get("index"))
        with np.load(io.BytesIO(array_bytes), allow_pickle=False) as arrays:
            rowids = arrays["rowids"]
            article_ids = arrays["article_ids"]
            bounds = arrays["sentence_bounds"]
            sentences = arrays["sentence_vectors"]
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise CorruptIndexError(f"segment {name} cannot be read: {exc}") from exc
    n = len(rowids)
    if (
        index.dimension != dimension
        or len(index) != n
        or len(article_ids) != n
        or len(bounds) != n + 1
    ):
        raise CorruptIndexError(f"segment {name} holds arrays that do not fit together")
    return SavedSegment(
        name=name,
        rowids=rowids.astype(np.int64),
        article_ids=article_ids,
        index=index,
        sentence_bounds=bounds.astype(np.int64),
        sentence_vectors=sentences.astype(np.float32, copy=False),
    )


def checkpoint_files_exist(data_dir: Path, name: str) -> bool:
    """Whether both files of a segment are on disk."""
    return all(path.exists() for path in _files(data_dir, name))


def remove_unlisted(data_dir: Path, names: set[str]) -> None:
    """Delete segment files that the manifest no longer lists."""
    folder = data_dir / SEGMENTS_DIR
    if not folder.exists():
        return
    for path in folder.iterdir():
        if path.suffix in (".faiss", ".npz") and path.stem not in names:
            path.unlink(missing_ok=True)


class Checkpoints:
    """The checkpoints of one data directory: which segment files are saved (each once:
    segments never change), the generation of the last checkpoint written or read, and when.

    ``header`` is what the manifest records beside the segments (model, dimension, settings).
    """

    def __init__(self, data_dir: Path, dimension: int, header: dict[str, Any]) -> None:
        self.data_dir, self.dimension, self.header = data_dir, dimension, header
        self._saved: dict[str, dict[str, Any]] = {}  # segment name -> its manifest entry
        self.generation = -1  # of the last checkpoint written or read
        self.written_at = time.monotonic()

    def save_segments(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """Write the files of the snapshot's segments not saved yet; returns their manifest
        entries. Costs what was added since the last time."""
        entries = []
        for state in snapshot.states:
            entry = self._saved.get(state.segment.name)
            if entry is None or not checkpoint_files_exist(self.data_dir, state.segment.name):
                entry = save_segment(self.data_dir, state.segment)
                self._saved[state.segment.name] = entry
            entries.append(entry)
        return entries

    def write(self, snapshot: Snapshot) -> None:
        """Save the snapshot's segments, then the manifest naming them all; call with the writer
        locks held (another process's checkpoint may remove files its manifest does not list,
        so they are checked again here)."""
        entries = self.save_segments(snapshot)
        manifest = {
            "format": MANIFEST_FORMAT,
            **self.header,
            "generation": snapshot.generation,
            "articles": snapshot.article_count,
            "passages": snapshot.passage_count,
            "sentences": snapshot.sentence_count,
            "segments": entries,
        }
        atomic_write_bytes(
            self.data_dir / MANIFEST_FILE, json.dumps(manifest, indent=2).encode("utf-8")
        )
        names = {e["name"] for e in entries}
        remove_unlisted(self.data_dir, names)
        self._saved = {k: v for k, v in self._saved.items() if k in names}
        self.generation = snapshot.generation
        self.written_at = time.monotonic()

    def read(self) -> tuple[int, list[SavedSegment]] | None:
        """The generation and segments of the last checkpoint, or None when none is usable."""
        try:
            manifest = read_manifest(self.data_dir)
        except CorruptIndexError:
            return None  # logged when the model was checked
        if not manifest or manifest.get("format") != MANIFEST_FORMAT:
            return None
        try:
            saved = [
                load_segment(self.data_dir, entry, self.dimension)
                for entry in manifest.get("segments", [])
            ]
        except CorruptIndexError as exc:
            log.warning("checkpoint not used (%s); rebuilding from the database", exc)
            return None
        self._saved = {e["name"]: e for e in manifest.get("segments", [])}
        return int(manifest.get("generation", -1)), saved
