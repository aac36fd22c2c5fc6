"""Read articles from files: ``.txt``/``.md`` (one article each) and ``.jsonl`` (one per line)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.clean import clean_page, normalise_text, slugify
from index.errors import InvalidArticleError
from index.models import Article

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_ARTICLE_CHARS = 2_000_000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
_OPTIONAL_FIELDS = ("url", "author", "published", "source", "section", "standfirst")


@dataclass(frozen=True)
class SourceError:
    """An input that could not be read as an article, and why."""

    source: str
    reason: str


def check_article_id(article_id: str) -> str:
    """Return the id if it is valid; raises ``InvalidArticleError`` naming the rule otherwise."""
    if not _ID.match(article_id):
        raise InvalidArticleError(
            f"article id {article_id!r} is invalid: use 1-200 letters, digits, '.', '_', ':' "
            "or '-',"
            " starting with a letter or digit"
        )
    return article_id


def derive_id(title: str, url: str | None) -> str:
    """An id for an article that came without one: from its url if any, else from its title."""
    if url:
        digest = hashlib.sha1(url.encode()).hexdigest()[:8]
        return f"{slugify(url.split('://')[-1], 60) or 'url'}-{digest}"
    return slugify(title) or "article"


def article_from_record(record: Any) -> Article:
    """Build an article from a JSON object with ``title``, ``text`` and optional fields.

    Raises ``InvalidArticleError`` with a message naming the field at fault.
    """
    if not isinstance(record, dict):
        raise InvalidArticleError("expected a JSON object with 'title' and 'text'")
    if "id" not in record and "_id" in record:  # BEIR corpora name it _id
        record = {**record, "id": str(record["_id"])}
    for key in ("title", "text"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise InvalidArticleError(f"field {key!r} is required and must be a non-empty string")
    for key in ("id", *_OPTIONAL_FIELDS):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise InvalidArticleError(f"field {key!r} must be a string")
    for key in ("id", "title", "text", *_OPTIONAL_FIELDS):
        # JSON may spell a lone surrogate ("\ud800"); UTF-8, and so the database, cannot hold it.
        try:
            (record.get(key) or "").encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidArticleError(
                f"field {key!r} holds an unpaired surrogate at {exc.start}: send valid Unicode"
            ) from exc
    text = normalise_text(record["text"]).strip()
    if len(text) > MAX_ARTICLE_CHARS:
        raise InvalidArticleError(f"field 'text' is longer than {MAX_ARTICLE_CHARS} characters")
    title = " ".join(record["title"].split())
    url = record.get("url") or None
    article_id = check_article_id(record["id"]) if record.get("id") else derive_id(title, url)
    return Article(
        id=article_id,
        title=title,
        text=text,
        author=record.get("author") or None,
        outlet=record.get("source") or None,
        section=record.get("section") or None,
        standfirst=record.get("standfirst") or None,
        url=url,
        published=record.get("published") or None,
    )


def article_from_html(html: str, article_id: str | None = None) -> Article:
    """Extract an article's main content and metadata from an HTML page (trafilatura).

    Raises ``InvalidArticleError`` when the page has no main content.
    """
    import trafilatura

    # Precision over recall, and no fallback extractors: they take navigation menus for content.
    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, favor_precision=True, fast=True
    )
    text = normalise_text(getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise InvalidArticleError("no main content found in the HTML page")
    title = " ".join((getattr(doc, "title", None) or "").split())
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if title and lines and lines[0] == title:
        lines = lines[1:]  # the heading repeats the title
    if not lines:
        raise InvalidArticleError("no main content found in the HTML page")
    title = title or lines[0][:200]
    url = getattr(doc, "url", None) or None
    return Article(
        id=check_article_id(article_id) if article_id else derive_id(title, url),
        title=title,
        text="\n\n".join(lines),
        author=getattr(doc, "author", None) or None,
        outlet=getattr(doc, "sitename", None) or None,
        published=getattr(doc, "date", None) or None,
        url=url,
    )


def decode_text(data: bytes) -> str:
    """Decode UTF-8 text; raises ``InvalidArticleError`` for binary data or another encoding."""
    if b"\x00" in data[:8192]:
        raise InvalidArticleError("not a text file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArticleError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8"
        ) from exc


def read_jsonl(text: str, source: str) -> Iterator[Article | SourceError]:
    """Yield one article per non-blank line, or a ``SourceError`` naming the line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            yield article_from_record(json.loads(line))
        except json.JSONDecodeError as exc:
            yield SourceError(where, f"not valid JSON ({exc.msg} at column {exc.colno})")
        except InvalidArticleError as exc:
            yield SourceError(where, str(exc))


def read_bytes(name: str, data: bytes) -> Iterator[Article | SourceError]:
    """Yield the articles in a file's content, its type told by ``name``'s suffix."""
    suffix = Path(name).suffix.lower()
    stem = slugify(Path(name).stem) or None
    if suffix not in SUPPORTED_SUFFIXES:
        yield SourceError(
            name, f"unsupported file type {suffix or '(none)'}: use .txt, .md, .html or .jsonl"
        )
        return
    try:
        text = decode_text(data)
    except InvalidArticleError as exc:
        yield SourceError(name, str(exc))
        return
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl(text, name)
        return
    try:
        if len(text) > MAX_ARTICLE_CHARS:
            raise InvalidArticleError(f"longer than {MAX_ARTICLE_CHARS} characters")
        if suffix in HTML_SUFFIXES:
            yield article_from_html(text, stem)
        else:
            yield clean_page(text, article_id=stem)
    except InvalidArticleError as exc:
        yield SourceError(name, str(exc))


def read_file(path: Path) -> Iterator[Article | SourceError]:
    """Yield the articles in one file, or a ``SourceError`` for each part that cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield SourceError(str(path), f"cannot be read: {exc.strerror}")
        return
    yield from read_bytes(str(path), data)


def read_paths(paths: Iterable[Path]) -> Iterator[Article | SourceError]:
    """Yield articles from files and folders (walked recursively, hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                hidden = any(part.startswith(".") for part in rel.parts)
                known = child.suffix.lower() in SUPPORTED_SUFFIXES
                if child.is_file() and known and not hidden:
                    yield from read_file(child)
        elif path.is_file():
            yield from read_file(path)
        else:
            yield SourceError(str(path), "no such file or folder")


def default_corpus_dir() -> Path:
    """The folder of the bundled default corpus."""
    return Path(__file__).parent / "default_corpus"
