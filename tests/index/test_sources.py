"""Reading articles from files: each bad input is refused with a message naming where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import InvalidArticleError
from index.models import Article
from index.sources import SourceError, article_from_record, check_article_id, read_paths


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


@pytest.mark.parametrize("article_id", ["reef\n", "reef\r\n", "\nreef", "re ef", ""])
def test_article_ids_are_checked_whole(article_id: str) -> None:
    with pytest.raises(InvalidArticleError, match="is invalid"):
        check_article_id(article_id)


def test_files_in_different_folders_get_different_ids(tmp_path: Path) -> None:
    for folder in ("world", "sport", "sport/local"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "index.txt").write_text(f"News from {folder}\n\nBody.", "utf-8")
    (tmp_path / "index.txt").write_text("Front page\n\nBody.", encoding="utf-8")
    (tmp_path / "world-index.txt").write_text("World index\n\nBody.", encoding="utf-8")
    (tmp_path / "中文").mkdir()
    (tmp_path / "中文" / "index.txt").write_text("Chinese section\n\nBody.", encoding="utf-8")
    items = list(read_paths([tmp_path]))
    assert not [i for i in items if isinstance(i, SourceError)]
    ids = {a.title: a.id for a in items if isinstance(a, Article)}
    assert ids["Front page"] == "index"  # a file at the top keeps its name's id
    assert ids["World index"] == "world-index"
    assert ids["News from world"] == "world.index"
    assert ids["News from sport"] == "sport.index"
    assert ids["News from sport/local"] == "sport.local.index"
    assert ids["Chinese section"].endswith(".index")
    assert len(set(ids.values())) == len(ids) == 6
    # A file named alone keeps the id of its name, as before.
    [alone] = read_paths([tmp_path / "sport" / "index.txt"])
    assert isinstance(alone, Article) and alone.id == "index"


def test_records_with_the_same_derived_id_are_refused_after_the_first(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    records = [
        {"title": "Same title", "text": "First text."},
        {"title": "Same title", "text": "Second text."},
        {"id": "x1", "title": "Explicit", "text": "Explicit id."},
        {"id": "x1", "title": "Explicit again", "text": "Same explicit id."},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    items = list(read_paths([path]))
    articles = [i for i in items if isinstance(i, Article)]
    assert [(a.id, a.text) for a in articles] == [
        ("same-title", "First text."),
        ("x1", "Explicit id."),
    ]
    errors = [i for i in items if isinstance(i, SourceError)]
    assert [e.source for e in errors] == [f"{path}:2", f"{path}:4"]
    assert errors[0].reason.startswith(f"duplicate id 'same-title': {path}:1 has the same id")


def test_the_same_id_in_two_files_is_refused_in_the_second(tmp_path: Path) -> None:
    record = {"id": "reef", "title": "Reef", "text": "Reef text."}
    (tmp_path / "a.jsonl").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({**record, "text": "Other."}), encoding="utf-8")
    items = list(read_paths([tmp_path]))
    assert [i.text for i in items if isinstance(i, Article)] == ["Reef text."]
    [error] = [i for i in items if isinstance(i, SourceError)]
    assert error.source == f"{tmp_path / 'b.jsonl'}:1"
    assert f"{tmp_path / 'a.jsonl'}:1 has the same id" in error.reason


def test_titles_without_ascii_letters_derive_distinct_ids() -> None:
    first = article_from_record({"title": "中国新闻", "text": "一."})
    second = article_from_record({"title": "日本新闻", "text": "二."})
    assert first.id != second.id
    assert first.id == article_from_record({"title": "中国新闻", "text": "三."}).id  # stable
    check_article_id(first.id)


def test_a_record_whose_text_is_only_control_characters_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"id": "blank", "title": "Blank", "text": "\x00\x01\x02 \x7f"}))
    [error] = read_paths([path])
    assert isinstance(error, SourceError)
    assert error.reason == (
        "field 'text' is empty once control characters and surrounding whitespace are removed"
    )


def test_a_deeply_nested_jsonl_line_is_named_and_the_next_is_read(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    deep = '{"id": "deep", "title": "T", "text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text(deep + "\n" + json.dumps({"id": "ok", "title": "T", "text": "Body."}))
    items = list(read_paths([path]))
    assert [i.id for i in items if isinstance(i, Article)] == ["ok"]
    [error] = [i for i in items if isinstance(i, SourceError)]
    assert error.source == f"{path}:1"
    assert "nested deeper than" in error.reason


def test_jsonl_depth_counts_brackets_outside_strings_only() -> None:
    from index.sources import json_depth

    assert json_depth('{"a": [1, {"b": []}]}') == 4
    assert json_depth('{"text": "[[[[{{{{ \\" [[[["}') == 1
    assert json_depth("[" * 50 + "]" * 50) == 50


def test_a_page_of_empty_elements_reaches_the_extractor_without_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import trafilatura

    from index.sources import article_from_html

    seen: list[int] = []
    real = trafilatura.bare_extraction

    def watched(html: str, **kwargs: object) -> object:
        seen.append(html.count("<"))
        return real(html, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", watched)
    body = "".join(
        f"<p>The reef bleached in part {i} during the March heatwave.</p>" for i in range(20)
    )
    html = f"<html><body><article><h1>Reef</h1>{body}{'<p> </p>' * 250_000}</article></body></html>"
    article = article_from_html(html)
    assert "part 19" in article.text
    assert seen and seen[0] < 1_000  # not 500,000 tags


def test_a_page_with_too_many_elements_is_refused_with_a_reason() -> None:
    from index.sources import MAX_HTML_ELEMENTS, article_from_html

    html = "<p>x</p>" * (MAX_HTML_ELEMENTS + 1)
    with pytest.raises(InvalidArticleError, match="HTML elements"):
        article_from_html(html)
