"""What the CLI prints: article text cannot drive the terminal; bad settings are an error."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from index.corpus import Corpus
from index.models import Article
from tests.fakes import FakeEmbedder

# Clear the screen, a CSI (8-bit), set the window title, ring the bell, reverse the reading order.
TITLE = "Evil\x1b[2J title\x9b31m \u202egnp.exe\x07"
OUTLET = "Wire\x1b]0;pwned\x07"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def data_dir_with_evil_title(tmp_path: Path) -> Path:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension, refresh_seconds=0)
    article = Article(id="evil", title=TITLE, text="A short body.", outlet=OUTLET)
    assert corpus.add_articles([article], embedder).added == ["evil"]
    corpus.close()
    return corpus.data_dir


def test_articles_table_escapes_control_and_bidi_characters(tmp_path: Path) -> None:
    data = data_dir_with_evil_title(tmp_path)
    result = CliRunner().invoke(cli, ["articles", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert not UNSAFE.search(result.output)
    assert result.output == (
        "evil\t1\tEvil\\x1b[2J title\\x9b31m \\u202egnp.exe\\x07  (Wire\\x1b]0;pwned\\x07)\n"
    )


def test_articles_json_escapes_them_and_keeps_the_values(tmp_path: Path) -> None:
    data = data_dir_with_evil_title(tmp_path)
    result = CliRunner().invoke(cli, ["articles", "--data-dir", str(data), "--json"])
    assert result.exit_code == 0, result.output
    assert not UNSAFE.search(result.output)
    record = json.loads(result.output)
    assert (record["title"], record["source"]) == (TITLE, OUTLET)


def test_settings_that_do_not_validate_are_an_error_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "QA_RATE_LIMIT": "often", "QA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "articles"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "invalid settings: rate_limit: QA_RATE_LIMIT 'often' is not a rate" in done.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QA_VECTOR_STORE": "milvus"}, "QA_VECTOR_STORE=milvus needs QA_MILVUS_URI"),
        ({"QA_VECTOR_STORE": "qdrant"}, "vector_store"),
        (
            {
                "QA_VECTOR_STORE": "milvus",
                "QA_MILVUS_URI": "http://x:1",
                "QA_MILVUS_COLLECTION": "a-b",
            },
            "milvus_collection",
        ),
        ({"QA_DATABASE_URL": "mysql://db/qa"}, "QA_DATABASE_URL"),
    ],
)
def test_backend_settings_that_do_not_fit_are_an_error_naming_them(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "articles"],
        env={**os.environ, "QA_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert says in done.stderr
