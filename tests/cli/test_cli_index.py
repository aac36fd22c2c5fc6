"""`qa reindex`: the index of a data directory rebuilt from its database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from index.corpus import MANIFEST_FILE, Corpus


def test_reindex_rebuilds_a_damaged_checkpoint_from_the_database(corpus: Corpus) -> None:
    corpus.close()
    for path in (corpus.data_dir / "segments").glob("*.npz"):
        path.write_bytes(b"damaged")
    result = CliRunner().invoke(cli, ["reindex", "--data-dir", str(corpus.data_dir)])
    assert result.exit_code == 0, result.output
    assert "rebuilt: 5 articles, 5 passages" in result.output
    manifest = json.loads((corpus.data_dir / MANIFEST_FILE).read_text())
    assert manifest["passages"] == 5 and len(manifest["segments"]) == 1
    name = manifest["segments"][0]["name"]
    assert {p.name for p in (corpus.data_dir / "segments").iterdir()} == {
        f"{name}.faiss",
        f"{name}.npz",
    }


def test_reindex_of_a_folder_without_an_index_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["reindex", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no index in" in result.output


def test_bench_index_reports_the_graph_against_exact_search() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "bench-index",
            "--passages",
            "12000",
            "--data",
            "clustered",
            "--dimension",
            "32",
            "--queries",
            "20",
            "--ef-search",
            "16",
            "--filters",
            "0.01,0.5",
            "--flat-sizes",
            "1000",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "1,000 |" in out  # the flat table
    assert "### 12,000 passages, clustered stand-in, 32-d" in out
    assert "'kind': 'hnsw'" in out
    rows = {line.split(" | ")[0]: line.split(" | ") for line in out.splitlines() if " | " in line}
    assert float(rows["hnsw (default)"][3]) >= 0.95  # recall@10 at the default efSearch
    assert rows["flat (exact, brute force)"][3] == "1.000"
    assert rows["0.01 (120)"][-1] == "exact" and rows["0.01 (120)"][-2] == "1.000"
    assert rows["0.5 (6,000)"][-1] == "graph, wider walk"


def test_bench_index_rejects_numbers_it_cannot_read() -> None:
    result = CliRunner().invoke(cli, ["bench-index", "--passages", "0", "--flat-sizes", "1k"])
    assert result.exit_code != 0 and "--flat-sizes" in result.output
