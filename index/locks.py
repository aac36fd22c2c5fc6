"""The locks writers take turns on. Readers take none of them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from index.store import Database


class WriterLocks:
    """One writer thread at a time in this process (``write``, also held by a refresh so that
    a commit of ours is never applied twice), then the database's writer lock across processes
    and machines; ``swap`` orders the publications of the writer and a background merge."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.write = threading.Lock()
        self.swap = threading.Lock()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writer locks: this process's, then the database's (every process's)."""
        with self.write, self.db.writer_lock():
            yield
