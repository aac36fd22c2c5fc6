"""The load test, briefly, against `qa serve` on the fake embedder: questions and writes from
several clients at once get no 5xx, and every acknowledged write reads back as acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import KINDS, read_back, run_load
from tests.live import FAKE_QA, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.server]

KEY = "load-key"
QUESTIONS = [
    "Who is China's ambassador to Pakistan?",
    "What did the ambassador say about the attacks?",
    "Why are ties between Islamabad and Beijing under pressure?",
    "What is CPEC?",
    "Which harbour closed after the storm?",
]
PARAGRAPHS = [
    "The harbour master said the cranes stopped at dawn. Dockworkers walked out over pay.",
    "Council members voted to repair the sea wall before winter. The work starts in March.",
    "The ferry to the islands was cancelled twice this week. Passengers waited for hours.",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("load") / "data"
    live = LiveServer(data_dir, FAKE_QA, {"QA_API_KEY": KEY, "QA_REFUSAL_THRESHOLD": "0.05"})
    yield live
    live.stop()


def test_mixed_load_has_no_5xx_and_loses_no_write(server: LiveServer) -> None:
    report = run_load(server.url, KEY, 4, 4, QUESTIONS, PARAGRAPHS, write_share=0.4)
    assert report.server_errors == 0
    assert report.unanswered == 0
    assert report.lost == []
    assert {s.kind for s in report.samples} == set(KINDS)
    assert all(200 <= s.status < 300 for s in report.samples)
    assert report.writes_checked > 0
    assert any("lost writes: 0" in line for line in report.lines())


def test_a_write_the_server_does_not_show_is_reported_lost(server: LiveServer) -> None:
    expected: dict[str, set[str | None]] = {
        "never-stored": {"A text that was acknowledged."},
        "diplomat-china-pakistan-ties-under-pressure": {None},  # "deleted", yet still there
        "also-never-stored": {None},
    }
    lost = read_back(server.url, KEY, expected)
    assert lost == [
        "diplomat-china-pakistan-ties-under-pressure: expected absent, found another text",
        "never-stored: expected the last text acknowledged, found absent",
    ]
