"""Reading articles from files: each bad input is refused with a message naming where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.models import Article
from index.sources import SourceError, read_paths


def test_jsonl_lines_become_articles_and_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "a1", "title": "One", "text": "Body one.", "source": "Wire"}),
                "{not json",
                json.dumps({"title": "No text"}),
                json.dumps({"id": "bad id!", "title": "T", "text": "x"}),
                json.dumps({"title": "Two", "text": "Body two.", "url": "https://ex.com/two"}),
            ]
        ),
        encoding="utf-8",
    )
    items = list(read_paths([path]))
    articles = [i for i in items if isinstance(i, Article)]
    errors = [i for i in items if isinstance(i, SourceError)]
    assert [a.title for a in articles] == ["One", "Two"]
    assert articles[0].outlet == "Wire"
    assert articles[1].id.startswith("ex-com-two-")
    assert [e.source for e in errors] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert "not valid JSON" in errors[0].reason
    assert "'text' is required" in errors[1].reason
    assert "article id 'bad id!' is invalid" in errors[2].reason


def test_folder_is_walked_and_bad_files_reported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Title A\n\nBody of A.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Title B\n\nBody of B.", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "d.txt").write_bytes("caf\xe9".encode("latin-1") + b"\n\nbody")
    items = list(read_paths([tmp_path, tmp_path / "missing.txt", tmp_path / "x.pdf"]))
    assert sorted(i.title for i in items if isinstance(i, Article)) == ["Title A", "Title B"]
    reasons = {Path(i.source).name: i.reason for i in items if isinstance(i, SourceError)}
    assert "binary" in reasons["c.txt"]
    assert "not UTF-8" in reasons["d.txt"]
    assert reasons["missing.txt"] == "no such file or folder"


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    [error] = read_paths([path])
    assert isinstance(error, SourceError)
    assert "unsupported file type .pdf" in error.reason


def test_jsonl_lines_end_at_newlines_only(tmp_path: Path) -> None:
    # U+2028, U+2029 and U+0085 are legal raw characters inside JSON strings; str.splitlines()
    # would split a record at them. Lines may end with \r\n.
    text = "First line\u2028second line\u2029third\u0085fourth."
    path = tmp_path / "feed.jsonl"
    lines = [
        json.dumps({"id": "sep", "title": "Separators", "text": text}, ensure_ascii=False),
        json.dumps({"id": "plain", "title": "Plain", "text": "Body."}),
        "{broken",
    ]
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    items = list(read_paths([path]))
    articles = [i for i in items if isinstance(i, Article)]
    assert [a.id for a in articles] == ["sep", "plain"]
    assert articles[0].text == "First line\u2028second line\u2029thirdfourth."
    [error] = [i for i in items if isinstance(i, SourceError)]
    assert error.source == f"{path}:3"


@pytest.mark.parametrize("key", ["title", "text", "url", "author", "id"])
def test_a_lone_surrogate_refuses_that_record_only(tmp_path: Path, key: str) -> None:
    # json.loads turns the escape "\ud800" into a lone surrogate, which no encoder accepts.
    bad = {"title": "Bad", "text": "Bad body.", key: "a\ud800b"}  # no id: one is derived
    path = tmp_path / "feed.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in (
                {"id": "before", "title": "Before", "text": "First."},
                bad,
                {"id": "after", "title": "After", "text": "Last."},
            )
        ),
        encoding="utf-8",
    )
    assert '"a\\ud800b"' in path.read_text(encoding="utf-8")
    items = list(read_paths([path]))
    assert [i.id for i in items if isinstance(i, Article)] == ["before", "after"]
    [error] = [i for i in items if isinstance(i, SourceError)]
    assert error.source == f"{path}:2"
    assert f"field {key!r} holds a lone surrogate" in error.reason
