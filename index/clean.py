"""Turn raw article text (as copied from a web page, or a plain/Markdown file) into an ``Article``.

A page copied from a news site carries chrome around the body: the outlet's name and navigation
words, section labels, a byline, a subscription prompt, the author's bio and links to other
stories. The body is what gets indexed; the byline, bio, section and standfirst become metadata;
the rest is dropped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from index.errors import InvalidArticleError
from index.models import Article

_BYLINE = re.compile(r"^by\s+(?P<names>[^\s].{1,120})$", re.IGNORECASE)
# A block starting with one of these ends the article body: what follows is page furniture.
_END_OF_BODY = re.compile(
    r"^(want to read more\??|subscribe( now| today| for .*)?\.?|already a subscriber\??"
    r"|the authors?|about the authors?|related (stories|articles|posts)|read next"
    r"|more from .{1,40}|share this( article)?|sign up for .*newsletter.*)$",
    re.IGNORECASE,
)
_AUTHOR_HEADING = re.compile(r"^(the authors?|about the authors?)$", re.IGNORECASE)
_NAV_WORDS = frozenset(
    {
        "overview",
        "home",
        "menu",
        "search",
        "login",
        "log in",
        "sign in",
        "subscribe",
        "share",
        "advertisement",
        "newsletter",
        "latest",
        "topics",
        "regions",
    }
)
_SENTENCE_END = re.compile(r"[.!?][\"”’)]*$")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")


def normalise_text(raw: str) -> str:
    """Return ``raw`` in NFC with unified newlines, no control characters and no trailing spaces."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _blocks(text: str) -> list[list[str]]:
    """Split text into blocks (runs of non-empty lines) of whitespace-collapsed lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _word_count(line: str) -> int:
    return len(line.split())


def _split_names(names: str) -> list[str]:
    return [n.strip() for n in re.split(r",\s*|\s+and\s+|\s*&\s*", names) if n.strip()]


def _find_byline(blocks: list[list[str]], search_blocks: int = 8) -> int | None:
    """Index of the single-line "By Name" block near the top, if the text has one."""
    for i, block in enumerate(blocks[:search_blocks]):
        if len(block) == 1 and _BYLINE.match(block[0]) and _word_count(block[0]) <= 12:
            return i
    return None


def _body_end(blocks: list[list[str]], start: int) -> int:
    for i in range(start, len(blocks)):
        if _END_OF_BODY.match(blocks[i][0]):
            return i
    return len(blocks)


def _paragraphs(blocks: list[list[str]]) -> list[str]:
    # Lines inside a block are hard wraps of one paragraph.
    return [" ".join(block) for block in blocks]


def _parse_header(lines: list[str]) -> tuple[str | None, str | None, str | None, list[str]]:
    """Find title, outlet and standfirst among the lines above the byline.

    Returns ``(title, outlet, standfirst, other_labels)``. A page often repeats the headline (once
    in the breadcrumb, once as the heading), so a repeated multi-word line is the title; otherwise
    the longest line that is not a sentence.
    """
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    repeated = [ln for ln in lines if counts[ln] > 1 and _word_count(ln) >= 3]
    non_sentences = [ln for ln in lines if not _SENTENCE_END.search(ln)]
    title = repeated[0] if repeated else max(non_sentences, key=len, default=None)
    standfirst = None
    if title is not None:
        last_title = max(i for i, ln in enumerate(lines) if ln == title)
        after = [ln for ln in lines[last_title + 1 :] if _word_count(ln) >= 6]
        if after and _SENTENCE_END.search(after[0]):
            standfirst = after[0]
    outlet = None
    if lines and lines[0] != title and _word_count(lines[0]) <= 4:
        outlet = lines[0]
    labels = [
        ln
        for ln in dict.fromkeys(lines)
        if ln not in (title, outlet, standfirst) and ln.lower() not in _NAV_WORDS
    ]
    return title, outlet, standfirst, labels


def _parse_footer(blocks: list[list[str]], authors: list[str]) -> tuple[str | None, set[str]]:
    """Return the author bio and the short labels found below the body (section names of links),
    as a set: each header label is looked up in it, and a page may have tens of thousands of
    both (a list made that quadratic, 45 s for 70,000 lines)."""
    bio = None
    labels: set[str] = set()
    after_author_heading = False
    for block in blocks:
        first = block[0]
        if _AUTHOR_HEADING.match(first):
            after_author_heading = True
            continue
        if after_author_heading and bio is None and any(first.startswith(a) for a in authors):
            bio = " ".join(block)
            continue
        labels.update(ln for ln in block if _word_count(ln) <= 3)
    return bio, labels


def slugify(value: str, max_length: int = 80) -> str:
    """Return a lowercase ASCII slug of ``value`` (letters, digits and dashes)."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def digest(value: str) -> str:
    """Eight hex digits of the SHA-1 of ``value``: a short, stable stand-in in ids."""
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def title_id(title: str) -> str:
    """An id for an article known by its title alone: the title's slug, or for a title without
    ASCII letters or digits (Chinese, say) ``article-`` and a digest, so that different titles
    get different ids."""
    return slugify(title) or f"article-{digest(title)}"


def clean_page(raw: str, *, article_id: str | None = None) -> Article:
    """Parse raw page or plain/Markdown text into an ``Article`` with chrome removed.

    With a byline ("By Name") near the top, the lines above it are the page header (outlet,
    navigation, title, section, standfirst); otherwise the first line (or Markdown heading) is the
    title. Raises ``InvalidArticleError`` when no body text is left.
    """
    text = normalise_text(raw)
    blocks = _blocks(text)
    if not blocks:
        raise InvalidArticleError("the text is empty")
    author = outlet = standfirst = section = None
    extra: dict[str, str] = {}
    byline = _find_byline(blocks)
    if byline is not None:
        header = [ln for block in blocks[:byline] for ln in block]
        title, outlet, standfirst, header_labels = _parse_header(header)
        match = _BYLINE.match(blocks[byline][0])
        assert match is not None
        author = match.group("names").strip()
        body_start = byline + 1
    else:
        first = blocks[0]
        title = _MARKDOWN_HEADING.sub("", first[0]).strip()
        header_labels = []
        blocks = [first[1:], *blocks[1:]] if len(first) > 1 else blocks[1:]
        body_start = 0
    end = _body_end(blocks, body_start)
    body = [b for b in blocks[body_start:end] if b]
    bio, footer_labels = _parse_footer(blocks[end:], _split_names(author) if author else [])
    if bio:
        extra["author_bio"] = bio
    # A section label is one the page repeats beside its links to other stories; the header's
    # other short lines (an image credit, say) are kept as metadata but not taken as the section.
    sections = [lb for lb in header_labels if lb in footer_labels]
    if sections:
        section = sections[0]
    others = [lb for lb in header_labels if lb != section]
    if others:
        extra["labels"] = "; ".join(others)
    paragraphs = _paragraphs(body)
    if not paragraphs or not title:
        raise InvalidArticleError("no article body found in the text")
    return Article(
        id=article_id or title_id(title),
        title=title,
        text="\n\n".join(paragraphs),
        author=author,
        outlet=outlet,
        section=section,
        standfirst=standfirst,
        extra=extra,
    )
