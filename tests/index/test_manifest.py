"""The model and settings a store records, checked on every open."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from index.config import IndexConfig
from index.errors import IndexMismatchError
from index.manifest import check_model
from index.store import Database, sqlite_url


def test_a_model_recorded_without_its_dimension_is_completed_not_refused(tmp_path: Path) -> None:
    # What another process opening the same new store could leave between two writes.
    db = Database(sqlite_url(tmp_path / "corpus.sqlite"))
    db.set_meta("model", "m")
    check_model(db, tmp_path, ("m", 64), IndexConfig())
    assert (db.get_meta("model"), db.get_meta("dimension")) == ("m", "64")
    with pytest.raises(IndexMismatchError, match="dimension 64"):
        check_model(db, tmp_path, ("m", 32), IndexConfig())
    db.close()


def test_processes_opening_a_new_store_at_once_agree(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "corpus.sqlite")

    def open_once(_: int) -> None:
        db = Database(url)
        try:
            check_model(db, tmp_path, ("m", 64), IndexConfig())
        finally:
            db.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(open_once, range(16)))
    db = Database(url)
    assert (db.get_meta("model"), db.get_meta("dimension")) == ("m", "64")
    db.close()
