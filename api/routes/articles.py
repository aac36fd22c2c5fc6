"""The stored articles. Write bodies are held to ``QA_MAX_UPLOAD_BYTES`` as they are read, by
``api.limits.BodyLimitMiddleware``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.article_schemas import (
    ArticleDetail,
    ArticleIn,
    ArticleList,
    ArticleSummary,
    BulkFailure,
    BulkResult,
    WriteResult,
)
from api.deps import MetricsDep, ServicesDep, WriterDep
from api.feed_schemas import UrlIn
from api.observability import Metrics
from api.routes.feeds import FeedsDep
from api.schemas import API_ERRORS, UPLOAD_TOO_LARGE, WRITER_ERRORS, errors
from index.corpus import IngestReport
from index.errors import FetchError, InvalidArticleError
from index.models import Article
from index.sources import SourceError, article_from_record, decode_text, read_bytes, read_jsonl
from service.poller import FeedService
from service.services import Services

router = APIRouter(prefix="/api/articles", tags=["articles"], responses=API_ERRORS)

# The write routes read their bodies themselves (JSON, a file, JSON Lines), so the OpenAPI text
# is given here; ArticleIn is the shape every one of them checks.
_ARTICLE = ArticleIn.model_json_schema()
_JSON_ARTICLE = {"application/json": {"schema": _ARTICLE}}
_JSON_URL = {"application/json": {"schema": {"oneOf": [_ARTICLE, UrlIn.model_json_schema()]}}}
_UPLOAD = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "A .txt, .md or .html article, or a .jsonl line.",
                }
            },
            "required": ["file"],
        }
    }
}


# The bundled article's id, so that the docs' "Try it out" finds an article.
ArticleId = Annotated[
    str,
    Path(description="The article's id.", examples=["diplomat-china-pakistan-ties-under-pressure"]),
]


def _body_doc(content: dict[str, Any], description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": content}}


@router.get("")
def list_articles(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Articles to skip.")] = 0,
) -> ArticleList:
    """List articles (metadata and passage counts), ordered by id."""
    snapshot = services.corpus.snapshot
    page = snapshot.article_page(offset, limit)
    return ArticleList(
        total=snapshot.article_count,
        limit=limit,
        offset=offset,
        articles=[ArticleSummary.of(a, n) for a, n in page],
    )


@router.get("/{article_id}", responses=errors({404: "No such article."}))
def get_article(article_id: ArticleId, services: ServicesDep) -> ArticleDetail:
    """Return one article with its full text, which citation offsets point into."""
    article = services.corpus.get_article(article_id)
    _, count = services.corpus.snapshot.article(article.id) or (article, 0)
    summary = ArticleSummary.of(article, count)
    return ArticleDetail(**summary.model_dump(), text=article.text)


async def _uploaded_article(request: Request, services: Services) -> Article:
    """One article from a JSON body or an uploaded file (multipart field ``file``)."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "upload the article as a multipart file field named 'file'")
        data = await upload.read()
        # Extraction (trafilatura for HTML) is CPU work: off the event loop.
        items = await run_in_threadpool(
            lambda: list(read_bytes(upload.filename or "upload.txt", data))
        )
        failures = [i for i in items if isinstance(i, SourceError)]
        if failures:
            raise HTTPException(422, f"{failures[0].source}: {failures[0].reason}")
        if len(items) != 1:
            raise HTTPException(
                422, f"the file holds {len(items)} articles; send several to /api/articles:bulk"
            )
        article = items[0]
        assert isinstance(article, Article)
        return article
    return await run_in_threadpool(_from_json, body)


def _url_only(request: Request, body: bytes) -> UrlIn | None:
    """The body as a page to fetch, when it is a JSON object with a url and no text."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    try:
        record = json.loads(body)
    except ValueError:
        return None
    if not isinstance(record, dict) or "url" not in record or "text" in record:
        return None
    try:
        return UrlIn.model_validate(record)
    except ValueError as exc:
        raise HTTPException(422, f"the body is not a page to fetch: {_first_error(exc)}") from exc


async def _create_from_url(
    url_in: UrlIn, response: Response, feeds: FeedService, metrics: Metrics
) -> WriteResult:
    try:
        article, report = await run_in_threadpool(feeds.ingest_url, url_in.url, url_in.id)
    except (FetchError, InvalidArticleError) as exc:
        raise HTTPException(422, f"{url_in.url} could not be stored: {exc}") from exc
    metrics.record_ingest(report)
    if not report.added:
        response.status_code = 200
    return _result(article, report)


def _from_json(body: bytes, article_id: str | None = None) -> Article:
    try:
        record = ArticleIn.model_validate_json(body).model_dump()
    except ValueError as exc:
        raise HTTPException(422, f"the body is not an article: {_first_error(exc)}") from exc
    if article_id is not None:
        if record["id"] not in (None, "", article_id):
            raise HTTPException(
                422, f"the body's id {record['id']!r} differs from the path's {article_id!r}"
            )
        record["id"] = article_id
    return article_from_record(record)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return f"{where}: {first.get('msg')}"
    return str(exc)


def _parse_bulk(
    body: bytes, max_line_bytes: int, max_articles: int
) -> tuple[list[Article], list[BulkFailure]]:
    """The articles of a JSONL body, and the lines that could not be read; 413 at the first
    line past ``max_articles``, before the rest is parsed."""
    try:
        text = decode_text(body)
    except InvalidArticleError as exc:
        raise HTTPException(422, str(exc)) from exc
    articles: list[Article] = []
    failed: list[BulkFailure] = []
    for item in read_jsonl(text, "body", max_line_bytes):
        if len(articles) + len(failed) == max_articles:
            raise HTTPException(
                413,
                f"the body holds more than {max_articles} articles; the limit per call is"
                f" {max_articles}: split it into several calls",
            )
        if isinstance(item, SourceError):
            failed.append(BulkFailure(line=int(item.source.rsplit(":", 1)[1]), reason=item.reason))
        else:
            articles.append(item)
    return articles, failed


def _result(article: Article, report: IngestReport) -> WriteResult:
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    return WriteResult(id=article.id, status=status, passages=report.passages)


@router.post(
    "",
    status_code=201,
    dependencies=[WriterDep],
    responses={
        200: {"model": WriteResult, "description": "Already stored as given."},
        **errors(
            {
                400: "The upload is not valid multipart/form-data.",
                409: "Another article holds this id: PUT replaces it.",
            }
        ),
        **WRITER_ERRORS,
        **UPLOAD_TOO_LARGE,
    },
    openapi_extra=_body_doc(
        {**_JSON_URL, **_UPLOAD},
        "An article as JSON, a page's URL as {\"url\": …}, or a file uploaded as 'file'.",
    ),
)
async def create_article(
    request: Request,
    response: Response,
    services: ServicesDep,
    metrics: MetricsDep,
    feeds: FeedsDep,
) -> WriteResult:
    """Add an article from a JSON body (the JSONL fields), an uploaded .txt/.md/.html file, or
    ``{"url": …}`` alone: the page is fetched and read, and fetching it again updates it."""
    url_in = _url_only(request, await request.body())
    if url_in is not None:
        return await _create_from_url(url_in, response, feeds, metrics)
    article = await _uploaded_article(request, services)
    held = services.corpus.holds(article)
    if held is False:
        raise HTTPException(
            409,
            f"an article with id {article.id!r} exists; PUT /api/articles/{article.id} replaces it",
        )
    report = await run_in_threadpool(feeds.ingest, [article])
    metrics.record_ingest(report)
    if held:
        response.status_code = 200
    return _result(article, report)


@router.put(
    "/{article_id}",
    dependencies=[WriterDep],
    responses={
        201: {"model": WriteResult, "description": "Added: no article had this id."},
        **WRITER_ERRORS,
        **UPLOAD_TOO_LARGE,
    },
    openapi_extra=_body_doc(_JSON_ARTICLE, "The article; an id in it must be the path's."),
)
async def put_article(
    article_id: ArticleId,
    request: Request,
    response: Response,
    metrics: MetricsDep,
    feeds: FeedsDep,
) -> WriteResult:
    """Store the article under this id, replacing any earlier version (201 when new)."""
    body = await request.body()
    article = await run_in_threadpool(_from_json, body, article_id)
    report = await run_in_threadpool(feeds.ingest, [article])
    metrics.record_ingest(report)
    if report.added:
        response.status_code = 201
    return _result(article, report)


@router.delete(
    "/{article_id}",
    dependencies=[WriterDep],
    responses={**errors({404: "No such article."}), **WRITER_ERRORS},
)
def delete_article(article_id: ArticleId, services: ServicesDep) -> WriteResult:
    """Delete an article; it is never cited again."""
    _, passages = services.corpus.snapshot.article(article_id) or (None, 0)
    services.corpus.delete_article(article_id)
    return WriteResult(id=article_id, status="deleted", passages=passages)


@router.post(
    ":bulk",
    dependencies=[WriterDep],
    responses={
        **WRITER_ERRORS,
        **errors({413: "The body is over QA_MAX_UPLOAD_BYTES or holds over QA_MAX_BULK_ARTICLES."}),
    },
    openapi_extra=_body_doc(
        {"application/x-ndjson": {"schema": {"type": "array", "items": _ARTICLE}}},
        "JSON Lines: one article object per line (the content type is not checked).",
    ),
)
async def bulk_articles(
    request: Request, services: ServicesDep, metrics: MetricsDep, feeds: FeedsDep
) -> BulkResult:
    """Add or replace many articles from a JSONL body, one article per line; lines that cannot
    be read are reported by number and the rest go in."""
    body = await request.body()
    # Decoding and parsing megabytes of JSON is CPU work: off the event loop.
    settings = services.settings
    articles, failed = await run_in_threadpool(
        _parse_bulk, body, settings.max_line_bytes, settings.max_bulk_articles
    )
    if not articles and not failed:
        raise HTTPException(422, "the body holds no articles: send one JSON object per line")
    # The limit was checked while parsing, at the first line over it.
    report = await run_in_threadpool(feeds.ingest, articles)
    metrics.record_ingest(report, failed=len(failed))
    return BulkResult(
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        failed=failed,
        passages=report.passages,
    )
