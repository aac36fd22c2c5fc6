"""The real model, the real CLI and a real server on loopback, on the bundled article."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cli.main import cli
from index.chunk import chunk_article
from index.corpus import MANIFEST_FILE
from index.sources import SourceError, read_paths
from tests.conftest import SEED, write_beir
from tests.live import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.server]

AMBASSADOR = "Who is China's ambassador to Pakistan?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``qa serve`` started on an empty data directory: it ingests the default corpus."""
    live = LiveServer(tmp_path_factory.mktemp("live") / "data")
    yield live
    live.stop()


def test_fresh_server_answers_the_ambassador_question(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/api/ask", json={"question": AMBASSADOR}, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["answered"] is True
    assert any("Jiang Zaidong" in c["text"] for c in body["citations"])
    article = httpx.get(f"{server.url}/api/articles/{body['citations'][0]['article_id']}").json()
    for c in body["citations"]:
        assert article["text"][c["start"] : c["end"]] == c["text"]


def test_the_answer_model_quotes_a_span_of_the_highlighted_sentence(server: LiveServer) -> None:
    body = httpx.post(f"{server.url}/api/ask", json={"question": AMBASSADOR}, timeout=30).json()
    span = body["answer_span"]
    (cited,) = [c for c in body["citations"] if c["highlight"] is not None]
    # The span lies inside the highlighted sentence, which is the answer with its marker.
    low, high = cited["highlight"]
    assert cited["start"] <= low <= span["start"] < span["end"] <= high <= cited["end"]
    article = httpx.get(f"{server.url}/api/articles/{cited['article_id']}").json()
    assert article["text"][span["start"] : span["end"]] == span["text"]
    assert body["answer"] == f"{article['text'][low:high]} [{cited['rank']}]"


def test_fresh_server_refuses_an_out_of_corpus_question(server: LiveServer) -> None:
    body = httpx.post(
        f"{server.url}/api/ask", json={"question": "What is the boiling point of water?"}
    ).json()
    assert body["answered"] is False
    assert body["answer"] is None
    assert body["citations"]


def test_server_wrote_a_manifest_for_the_real_model(server: LiveServer) -> None:
    data_dir = Path(server.log).parent / "data"
    manifest = json.loads((data_dir / MANIFEST_FILE).read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    article = next((SEED.parent).glob("*.txt"))
    (expected,) = [item for item in read_paths([article]) if not isinstance(item, SourceError)]
    assert manifest["passages"] == len(chunk_article(expected))


def test_cli_ingest_then_ask_json(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps(
            {
                "id": "reef",
                "title": "Coral reef bleaching",
                "text": "Marine biologists reported that half of the reef bleached during the "
                "record heatwave in March.",
                "source": "Ocean News",
            }
        )
        + "\n{broken\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    data = str(tmp_path / "data")
    result = runner.invoke(cli, ["ingest", "--data-dir", data, "--no-progress", str(feed)])
    assert result.exit_code == 0, result.output
    assert "added 1, updated 0, unchanged 0, failed 1" in result.output
    assert f"failed: {feed}:2: not valid JSON" in result.output
    result = runner.invoke(
        cli, ["ask", "--data-dir", data, "--json", "-k", "2", "How much of the reef bleached?"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    assert body["answered"] is True
    assert body["citations"][0]["article_id"] == "reef"
    assert "half of the reef bleached" in body["answer"]


def test_cli_ask_plain_and_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    result = runner.invoke(cli, ["ask", "--data-dir", data, AMBASSADOR])
    assert result.exit_code == 0, result.output
    assert "[1] China-Pakistan Ties Under Pressure Over Security Concerns" in result.output
    result = runner.invoke(cli, ["ask", "--data-dir", data, "   "])
    assert result.exit_code == 1
    assert "Error: the question is empty" in result.output


def test_cli_eval_runs_the_pipeline_on_a_beir_folder(tmp_path: Path) -> None:
    beir = write_beir(
        tmp_path / "tiny",
        docs=[
            ("d1", "Coral bleaching", "Half of the reef bleached during the March heatwave."),
            ("d2", "Rail line", "The new rail line opened with twelve daily trains."),
            ("d3", "Sourdough", "Wild yeast ferments the flour and makes the bread rise."),
        ],
        queries=[
            ("q1", "reef bleaching in a heatwave"),
            ("q2", "how many trains run on the new line"),
        ],
        qrels=[("q1", "d1"), ("q2", "d2")],
    )
    chart = tmp_path / "recall.png"
    args = [
        "eval",
        str(beir),
        "--work-dir",
        str(tmp_path / "work"),
        "--json",
        "--chart",
        str(chart),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    [dataset] = report["datasets"]
    assert dataset["articles"] == 3
    assert [r["method"] for r in dataset["retrieval"]] == ["dense", "bm25", "hybrid"]
    assert all(r["recall"]["1"] == 1.0 for r in dataset["retrieval"])
    assert chart.read_bytes().startswith(b"\x89PNG")
    bad = CliRunner().invoke(cli, ["eval", str(tmp_path / "nowhere")])
    assert bad.exit_code == 1
    assert "unknown dataset" in bad.output


def test_cli_stdin_list_and_delete(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    lines = "\n".join(
        json.dumps(
            {"id": f"t{i}", "title": f"Tide table {i}", "text": f"High tide {i} is at noon."}
        )
        for i in range(3)
    )
    result = runner.invoke(cli, ["ingest", "--data-dir", data, "--no-progress", "-"], input=lines)
    assert result.exit_code == 0, result.output
    assert "added 3, updated 0, unchanged 0, failed 0" in result.output
    again = runner.invoke(cli, ["ingest", "--data-dir", data, "--no-progress", "-"], input=lines)
    assert "added 0, updated 0, unchanged 3, failed 0" in again.output
    listing = runner.invoke(cli, ["articles", "--data-dir", data])
    assert [line.split("\t")[0] for line in listing.output.splitlines()] == ["t0", "t1", "t2"]
    result = runner.invoke(cli, ["delete", "--data-dir", data, "t1", "nope"])
    assert result.exit_code == 1
    assert "deleted t1" in result.output and "no article with id 'nope'" in result.output
    listing = runner.invoke(cli, ["articles", "--data-dir", data, "--json"])
    assert [json.loads(line)["id"] for line in listing.output.splitlines()] == ["t0", "t2"]
    empty = runner.invoke(cli, ["articles", "--data-dir", str(tmp_path / "empty")])
    assert empty.exit_code == 1 and "no index in" in empty.output


def test_cli_serve_refuses_an_index_built_with_other_settings(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data = str(tmp_path / "data")
    monkeypatch.setenv("QA_MAX_CHARS", "500")
    runner = CliRunner()
    assert runner.invoke(cli, ["ask", "--data-dir", data, "Who is Jiang Zaidong?"]).exit_code == 0
    monkeypatch.delenv("QA_MAX_CHARS")
    result = runner.invoke(cli, ["serve", "--data-dir", data, "--port", "1"])
    assert result.exit_code == 1
    assert "was built with settings" in result.output
    assert "Traceback" not in result.output


def test_cli_ingest_reports_bad_records_and_ask_prints_titles_safely(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for section in ("world", "sport"):
        (folder / section).mkdir(parents=True)
        (folder / section / "index.txt").write_text(
            f"{section.title()} front page\n\nThe {section} desk filed its stories.", "utf-8"
        )
    title = "Coral\x1b[31m reef \u202ebleaching"
    records = [
        {"id": "reef", "title": title, "text": "Half of the reef bleached in the heatwave."},
        {"title": "Lone \ud800 surrogate", "text": "A title that is not Unicode."},
        {"title": "Blank", "text": "\u0000\u0001"},
        {"title": "Tide tables", "text": "High tide is at noon."},
        {"title": "Tide tables", "text": "Another record, same title, no id."},
    ]
    feed = folder / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    runner = CliRunner()
    data = str(tmp_path / "data")
    result = runner.invoke(cli, ["ingest", "--data-dir", data, "--no-progress", str(folder)])
    assert result.exit_code == 0, result.output
    assert "added 4, updated 0, unchanged 0, failed 3" in result.output
    assert f"failed: {feed}:2: field 'title' holds a lone surrogate" in result.output
    assert f"failed: {feed}:3: field 'text' is empty" in result.output
    assert f"failed: {feed}:5: duplicate id 'tide-tables'" in result.output
    listing = runner.invoke(cli, ["articles", "--data-dir", data])
    ids = [line.split("\t")[0] for line in listing.output.splitlines()]
    assert ids == ["reef", "sport.index", "tide-tables", "world.index"]

    question = "How much of the reef bleached?"
    plain = runner.invoke(cli, ["ask", "--data-dir", data, question])
    assert plain.exit_code == 0, plain.output
    assert "[1] Coral\\x1b[31m reef \\u202ebleaching" in plain.output
    assert "\u202e" not in plain.output
    as_json = runner.invoke(cli, ["ask", "--data-dir", data, "--json", question])
    assert "\u202e" not in as_json.output
    body = json.loads(as_json.output[as_json.output.index("{") :])
    assert body["citations"][0]["title"] == title
