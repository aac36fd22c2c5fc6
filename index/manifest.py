"""What a data directory was built with, checked on every open: the embedding model and its
dimension, the chunking settings and the entity tagger, recorded in the database (the source of
truth) and mirrored in ``manifest.json`` beside the checkpoint (``index/checkpoint.py``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from index.config import IndexConfig
from index.engine import write_connection
from index.entities import EntityTagger
from index.errors import CorruptIndexError, IndexMismatchError
from index.rows import upsert_meta
from index.store import Database

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 2
# Meta key naming the tagger (model and version) whose entities the passages hold.
TAGGER_KEY = "tagger"


def read_manifest(data_dir: Path) -> dict[str, Any] | None:
    """The data directory's manifest, or None if there is none yet; raises
    ``CorruptIndexError`` when it cannot be read as a JSON object."""
    path = data_dir / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptIndexError(f"the manifest {path} cannot be read: {exc}") from exc
    if not isinstance(manifest, dict):
        raise CorruptIndexError(f"the manifest {path} is not a JSON object")
    return manifest


def mismatch(
    data_dir: Path, where: str, found: tuple[str, int], loaded: tuple[str, int]
) -> IndexMismatchError:
    """The error for an index built with model ``found`` (name, dimension) according to its
    ``where``, opened with ``loaded``."""
    return IndexMismatchError(
        f"the index in {data_dir} was built with model {found[0]!r} (dimension {found[1]})"
        f" according to its {where}, but the loaded model is {loaded[0]!r} (dimension "
        f"{loaded[1]}); use a new data directory or load the model the index was built with"
    )


def check_model(db: Database, data_dir: Path, loaded: tuple[str, int], config: IndexConfig) -> None:
    """Record the model (name, dimension) and settings in a new store, or check them against
    what the database and the manifest record; raises ``IndexMismatchError``."""
    settings = json.dumps(config.as_dict(), sort_keys=True)
    recorded = _recorded(db)
    if None in recorded:
        # A new store: one transaction records all three where they are missing, and one
        # snapshot reads them back, so processes opening a new shared store at once (replicas)
        # never see a model without its dimension, and whichever recorded first is what every
        # one of them is checked against.
        with write_connection(db.engine) as conn, conn.begin():
            upsert_meta(conn, "model", loaded[0], replace=False)
            upsert_meta(conn, "dimension", str(loaded[1]), replace=False)
            upsert_meta(conn, "index_config", settings, replace=False)
        recorded = _recorded(db)
    model, dim, stored = recorded
    if (model, int(dim or 0)) != loaded:
        raise mismatch(data_dir, "database", (str(model), int(dim or 0)), loaded)
    if stored != settings:
        raise IndexMismatchError(
            f"the index in {data_dir} was built with settings {stored}, but "
            f"{settings} are configured; use a new data directory or the same settings"
        )
    try:
        manifest = read_manifest(data_dir)
    except CorruptIndexError as exc:
        # The database names the model; the manifest only mirrors it, and the checkpoint
        # it lists is rebuilt from the database.
        log.warning("%s; rebuilding the index from the database", exc)
        manifest = None
    if manifest is not None:
        found = (str(manifest.get("model")), int(manifest.get("dimension") or 0))
        if found != loaded:
            raise mismatch(data_dir, "manifest", found, loaded)


def _recorded(db: Database) -> tuple[str | None, str | None, str | None]:
    """The model, dimension and settings the database records, read in one snapshot."""
    with db.reading():
        return db.get_meta("model"), db.get_meta("dimension"), db.get_meta("index_config")


def tagger_is_new(db: Database, data_dir: Path, tagger: EntityTagger) -> bool:
    """Whether no tagger is recorded yet (the caller records this one, with the writer locks);
    warns when the stored passages were tagged by another (``qa reindex --embed`` re-tags)."""
    stored = db.get_meta(TAGGER_KEY)
    if stored is None:
        return True
    if stored != tagger.name:
        log.warning(
            "entities in %s were tagged by %s, new ones by %s; `qa reindex --embed` re-tags"
            " them all",
            data_dir,
            stored,
            tagger.name,
        )
    return False
