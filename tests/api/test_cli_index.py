"""`qa reindex`: the index of a data directory rebuilt from its database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from api.cli import cli
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
