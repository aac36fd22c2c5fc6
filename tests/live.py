"""A real ``qa serve`` process on loopback, for end-to-end, browser and resilience tests."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.harness import free_port

ROOT = Path(__file__).parents[1]


def _python(code: str) -> list[str]:
    # This checkout's code, not whichever copy of the package the environment installed.
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}"]


QA = _python("from cli.main import main; main()")
# `qa` with the fake embedder, which waits FAKE_EMBED_SECONDS on every call.
FAKE_QA = _python("from tests.live import fake_qa; fake_qa()")


def fake_qa() -> None:
    """Run the ``qa`` command line with the fake embedder in place of the model: ``qa serve``
    itself (uvicorn, its graceful shutdown, the lifespan), only faster to start."""
    import cli.main
    import cli.mcp
    import cli.timeline
    from tests.fakes import SlowFakeEmbedder

    seconds = float(os.environ.get("FAKE_EMBED_SECONDS", "0"))
    build = cli.main.build_services
    cli.main.build_services = lambda settings, **options: build(  # type: ignore[assignment]
        settings, **{**options, "embedder": SlowFakeEmbedder(seconds)}
    )
    cli.mcp.build_services = cli.main.build_services  # `qa mcp` too
    cli.timeline.build_services = cli.main.build_services  # `qa timeline` too
    cli.main.main()


def committed_articles(data_dir: Path) -> int:
    """Articles committed to a data directory's database so far, read as another process
    would: read-only, never waiting for the writer."""
    from index.corpus import DB_FILE

    path = data_dir / DB_FILE
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0
    finally:
        conn.close()


class LiveServer:
    """Starts ``qa serve`` (or ``command``, e.g. ``FAKE_QA``) on a free port and waits until
    ``/readyz`` answers; ``env`` is added to the environment."""

    def __init__(
        self, data_dir: Path, command: list[str] = QA, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / "server.log"
        env = {**os.environ, "QA_DATA_DIR": str(data_dir), **(env or {})}
        self._log_fh = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [*command, "serve", "--port", str(self.port)],
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"qa serve exited: {self.log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"qa serve not ready after {timeout}s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_fh.close()
