"""Heavy objects built in a background thread, so that a server answers questions while the
models only writes need are still loading."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from index.errors import CorpusError

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelLoadError(CorpusError):
    """A model loaded in the background failed to load; the message says which and why."""


class Loading(Generic[T]):
    """``build()`` run in a daemon thread from construction on; ``get()`` waits for its result.
    With ``eager=False`` nothing runs until the first ``get()``, which builds in its own thread
    (a command that may never need the object, such as ``qa ask`` and the tagger, pays nothing).

    A failure is logged when it happens and raised as ``ModelLoadError`` by every ``get()``.
    """

    def __init__(self, build: Callable[[], T], what: str, eager: bool = True) -> None:
        self.what = what
        self._build = build
        self._done = threading.Event()
        self._started = threading.Lock()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._eager = eager
        if eager:
            threading.Thread(target=self._run, name=f"load-{what}", daemon=True).start()

    def _run(self) -> None:
        try:
            self._value = self._build()
        except BaseException as exc:  # kept for get(); a thread's exception would be lost
            log.error("loading %s failed: %s", self.what, exc)
            self._error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        """Whether the build has finished (loaded or failed)."""
        return self._done.is_set()

    def get(self) -> T:
        """The built object, once built; raises ``ModelLoadError`` if building failed."""
        if not self._eager:
            with self._started:
                if not self._done.is_set():
                    self._run()
        self._done.wait()
        if self._error is not None:
            raise ModelLoadError(f"{self.what} could not be loaded: {self._error}") from self._error
        assert self._value is not None
        return self._value
