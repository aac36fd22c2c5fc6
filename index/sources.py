"""Read articles from files: ``.txt``/``.md`` (one article each) and ``.jsonl`` (one per line)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from index.clean import clean_page, digest, normalise_text, slugify, title_id
from index.errors import InvalidArticleError
from index.models import Article

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_ARTICLE_CHARS = 2_000_000
# The longest JSONL line read by default: an article at the limit above, with its fields.
MAX_LINE_BYTES = 5_000_000
_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\Z")  # \Z: "$" lets "id\n" through
_OPTIONAL_FIELDS = ("url", "author", "published", "source", "section", "standfirst")
# JSON can spell a lone surrogate ("\ud800"); it is no Unicode text, and nothing can encode it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# An article is a flat object; json.loads recurses once per level and raises RecursionError
# (a 500 that lost the whole batch) past about a thousand, so depth is measured before parsing.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: no backtracking per character
_JSON_BRACKET = re.compile(r"[\[\]{}]")
# trafilatura's work grows with the elements of a page (about 50 us each, 73 s for 1.98 MB of
# "<p> </p>"): empty elements, which hold no text, are dropped before it runs, and a page with
# more elements than this is refused. A long news page has a few thousand.
MAX_HTML_ELEMENTS = 50_000
_EMPTY_ELEMENT = re.compile(r"<([A-Za-z][A-Za-z0-9]*)\b[^<>]*>(?:\s|&nbsp;|&#160;)*</\1\s*>")
_TAG = re.compile(r"<[A-Za-z]")


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


def check_text(name: str, value: str) -> str:
    """Return ``value`` if it is valid Unicode text; raises ``InvalidArticleError`` naming the
    field ``name`` when it holds a lone surrogate."""
    found = _SURROGATE.search(value)
    if found is not None:
        raise InvalidArticleError(
            f"field {name!r} holds a lone surrogate (U+{ord(found.group()):04X} at character "
            f"{found.start()}), which is not Unicode text"
        )
    return value


def check_article(article: Article) -> Article:
    """Return the article if it can be stored: every field valid Unicode text, and some text to
    cut into passages. Raises ``InvalidArticleError`` naming the field at fault otherwise."""
    fields = [
        ("id", article.id),
        ("title", article.title),
        ("text", article.text),
        ("author", article.author),
        ("source", article.outlet),
        ("section", article.section),
        ("standfirst", article.standfirst),
        ("url", article.url),
        ("published", article.published),
        *(("extra", item) for pair in article.extra.items() for item in pair),
    ]
    for name, value in fields:
        if value is not None:
            check_text(name, value)
    if not article.text.strip():
        raise InvalidArticleError("field 'text' holds no text")
    return article


def derive_id(title: str, url: str | None) -> str:
    """An id for an article that came without one: from its url if any, else from its title."""
    if url:
        return f"{slugify(url.split('://')[-1], 60) or 'url'}-{digest(url)}"
    return title_id(title)


def file_id(relative: PurePath) -> str | None:
    """The id of the article in a file, from its path below the folder read (or its name):
    the slugs of its folders and of its name's stem joined by '.', which no slug holds, so that
    ``world/index.html``, ``sport/index.html`` and ``world-index.html`` get different ids. A
    file at the top keeps the id of its name, or None when that has no slug (its title then
    gives the id); below, a folder or name without a slug stands as a digest."""
    *folders, name = relative.parts
    stem = PurePath(name).stem
    if not folders:
        return slugify(stem) or None
    joined = ".".join(slugify(part) or digest(part) for part in (*folders, stem))
    return joined if len(joined) <= 200 else f"{joined[:191]}-{digest(str(relative))}"


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
        if record.get(key) is not None:
            check_text(key, record[key])
    text = normalise_text(record["text"]).strip()
    if not text:
        raise InvalidArticleError(
            "field 'text' is empty once control characters and surrounding whitespace are removed"
        )
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


def json_depth(text: str, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do not
    count), read in linear time without recursion; stops counting once past ``stop_above``."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


def without_empty_elements(html: str) -> str:
    """``html`` without elements that hold nothing but whitespace (nested ones too, to three
    levels): they cost the extractor as much as text does and give it nothing."""
    for _ in range(3):
        html, dropped = _EMPTY_ELEMENT.subn("", html)
        if not dropped:
            break
    return html


def article_from_html(html: str, article_id: str | None = None) -> Article:
    """Extract an article's main content and metadata from an HTML page (trafilatura).

    Raises ``InvalidArticleError`` when the page has no main content, or more than
    ``MAX_HTML_ELEMENTS`` elements once empty ones are dropped.
    """
    import trafilatura

    html = without_empty_elements(html)
    elements = sum(1 for _ in _TAG.finditer(html))
    if elements > MAX_HTML_ELEMENTS:
        raise InvalidArticleError(
            f"the page has {elements} HTML elements that are not empty; the limit is "
            f"{MAX_HTML_ELEMENTS}: send its text as .txt or JSON instead"
        )

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


Located = tuple[str, Article | SourceError]  # where an item was read, and the item


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``text.split("\n")`` gives them, one at a time: a reader that
    stops early (a bulk call over its limit) has not cut up the rest."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        yield text[start:end]
        start = end + 1


def _jsonl_items(text: str, source: str, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Located]:
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        # Characters never outnumber UTF-8 bytes: encode only lines that could be over.
        if len(line) > max_line_bytes or (
            4 * len(line) > max_line_bytes
            and len(line.encode("utf-8", "surrogatepass")) > max_line_bytes
        ):
            yield where, SourceError(where, f"the line is longer than {max_line_bytes} bytes")
            continue
        if json_depth(line, stop_above=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            reason = f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels"
            yield where, SourceError(where, reason)
            continue
        try:
            yield where, article_from_record(json.loads(line))
        except json.JSONDecodeError as exc:
            yield where, SourceError(where, f"not valid JSON ({exc.msg} at column {exc.colno})")
        except InvalidArticleError as exc:
            yield where, SourceError(where, str(exc))


def _bytes_items(name: str, data: bytes, article_id: str | None) -> Iterator[Located]:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        reason = f"unsupported file type {suffix or '(none)'}: use .txt, .md, .html or .jsonl"
        yield name, SourceError(name, reason)
        return
    try:
        text = decode_text(data)
    except InvalidArticleError as exc:
        yield name, SourceError(name, str(exc))
        return
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl_items(text, name)
        return
    article_id = article_id or file_id(PurePath(PurePath(name).name))
    try:
        if len(text) > MAX_ARTICLE_CHARS:
            raise InvalidArticleError(f"longer than {MAX_ARTICLE_CHARS} characters")
        if suffix in HTML_SUFFIXES:
            yield name, article_from_html(text, article_id)
        else:
            yield name, clean_page(text, article_id=article_id)
    except InvalidArticleError as exc:
        yield name, SourceError(name, str(exc))


def _file_items(path: Path, article_id: str | None = None) -> Iterator[Located]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield str(path), SourceError(str(path), f"cannot be read: {exc.strerror}")
        return
    yield from _bytes_items(str(path), data, article_id)


def _unique(items: Iterable[Located]) -> Iterator[Article | SourceError]:
    """The items, each article whose id an earlier one has turned into an error naming both
    places: one read never silently replaces an article it read before."""
    first: dict[str, str] = {}
    for where, item in items:
        if isinstance(item, Article):
            if item.id in first:
                item = SourceError(
                    where,
                    f"duplicate id {item.id!r}: {first[item.id]} has the same id; "
                    "give each article its own id",
                )
            else:
                first[item.id] = where
        yield item


def read_jsonl(
    text: str, source: str, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Article | SourceError]:
    """Yield one article per non-blank line, or a ``SourceError`` naming the line (also for an
    article whose id an earlier line has, or a line over ``max_line_bytes``).

    Lines end at newlines only (a carriage return before one is whitespace to JSON), not where
    ``str.splitlines()`` also splits: U+2028, U+2029 and U+0085 may stand raw in a JSON string.
    """
    return _unique(_jsonl_items(text, source, max_line_bytes))


def read_bytes(
    name: str, data: bytes, article_id: str | None = None
) -> Iterator[Article | SourceError]:
    """Yield the articles in a file's content, its type told by ``name``'s suffix; a text or
    HTML file's article gets ``article_id``, by default the one ``file_id`` derives from the
    file's name."""
    return _unique(_bytes_items(name, data, article_id))


def read_file(path: Path, article_id: str | None = None) -> Iterator[Article | SourceError]:
    """Yield the articles in one file, or a ``SourceError`` for each part that cannot be read."""
    return _unique(_file_items(path, article_id))


def read_paths(paths: Iterable[Path]) -> Iterator[Article | SourceError]:
    """Yield articles from files and folders (walked recursively, hidden files skipped).

    A file in a folder gets the id ``file_id`` derives from its path below that folder, so that
    files of the same name in different subfolders stay apart; an id that an earlier article of
    the same call has is reported as an error where it recurs.
    """
    return _unique(_path_items(paths))


def _path_items(paths: Iterable[Path]) -> Iterator[Located]:
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                hidden = any(part.startswith(".") for part in rel.parts)
                known = child.suffix.lower() in SUPPORTED_SUFFIXES
                if child.is_file() and known and not hidden:
                    yield from _file_items(child, file_id(rel))
        elif path.is_file():
            yield from _file_items(path)
        else:
            yield str(path), SourceError(str(path), "no such file or folder")


def default_corpus_dir() -> Path:
    """The folder of the bundled default corpus."""
    return Path(__file__).parent / "default_corpus"
