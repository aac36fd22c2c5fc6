"""The read side of a corpus (Lucene's ``SearcherManager``): the current view, one attribute
read that a request keeps to its end, and the background thread that keeps it current.

The thread polls the database's generation and applies other processes' commits (reading just
the articles they touched), so a running server sees a ``qa ingest`` beside it within a second,
batch by batch; between refreshes it lets the backend do its housekeeping (merging segments,
writing checkpoints). A failed round is retried on the next; readers are unaffected."""

from __future__ import annotations

import logging
import threading

from index.backends import Backend
from index.locks import WriterLocks
from index.view import CorpusView

log = logging.getLogger(__name__)


class CorpusReader:
    """Hands out the backend's current view and keeps it current: every ``refresh_seconds``
    in a background thread (0: none, the caller calls ``refresh``), and at once after a local
    write (``wake``)."""

    def __init__(self, backend: Backend, locks: WriterLocks, refresh_seconds: float) -> None:
        self.backend, self.locks = backend, locks
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        if refresh_seconds > 0:
            self._worker = threading.Thread(
                target=self._run, args=(refresh_seconds,), name="corpus-refresh", daemon=True
            )
            self._worker.start()

    @property
    def view(self) -> CorpusView:
        """The current consistent view; keep the reference for the length of one request."""
        return self.backend.view

    def refresh(self, wait: bool = True) -> bool:
        """Apply commits made by other processes since the view; returns whether any were.
        With ``wait=False`` it gives up at once when a writer of this process is busy (that
        writer catches up itself)."""
        if not self.locks.write.acquire(blocking=wait):
            return False
        try:
            return self.backend.refresh()
        finally:
            self.locks.write.release()

    def wake(self) -> None:
        """Run a background round now (after a write: merges may be due)."""
        self._wake.set()

    @property
    def stopped(self) -> bool:
        """Whether ``stop`` was called."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Stop the background thread and wait for its round to end."""
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=30)

    def _run(self, seconds: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh(wait=False)
                self.backend.maintain()
            except Exception:  # a failed round is retried on the next one; readers are unaffected
                log.exception("background refresh or merge failed")
