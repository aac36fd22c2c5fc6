"""A real Milvus for the tests: ``milvus-lite server`` (Milvus's gRPC protocol) on a free
loopback port, started once per test session in a temporary directory and stopped after."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.harness import free_port
from index.milvus import GRPC_OPTIONS


@dataclass
class MilvusServer:
    """A running ``milvus-lite server``: its URI, and how to stop and start it again."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers."""
        from pymilvus import MilvusClient

        binary = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
        log = open(self.data_dir.parent / "milvus.log", "ab")  # noqa: SIM115 - the server's
        command = [binary, "server", "--data-dir", str(self.data_dir)]
        command.extend(["--host", "127.0.0.1", "--port", str(self.port)])
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = MilvusClient(uri=self.uri, timeout=2, grpc_options=GRPC_OPTIONS)
                client.list_collections()
                client.close()
                return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"milvus-lite server did not start on port {self.port}; see "
                        f"{self.data_dir.parent / 'milvus.log'}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (its data stays in ``data_dir``)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """One milvus-lite server for the session."""
    root = tmp_path_factory.mktemp("milvus")
    server = MilvusServer(root / "data", free_port())
    server.data_dir.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def milvus_collection() -> str:
    """A collection name of its own for one test."""
    return f"t_{uuid.uuid4().hex[:12]}"
