"""The MCP server (the official ``mcp`` SDK): tools ``ask``, ``search``, ``get_article`` and
``list_articles``, and each article as the resource ``article://{id}``.

The tools run the service's own code paths (``qa.chat`` for ``ask``, the answerer's search, the
corpus's articles) and return the same shapes as the HTTP API, so an agent can check every quote
against the article text at the offsets given. ``build_server`` takes the services and a
``Runner``, which runs the blocking work: a worker thread for stdio (``qa mcp``), the question
limiter for the HTTP transport in ``qa serve`` (``api.mcp``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from api.article_schemas import ArticleDetail, ArticleList, ArticleSummary
from api.openai_schemas import CitedAnswer
from api.schemas import (
    MAX_QUESTION_CHARS,
    CitationOut,
    FiltersIn,
    SearchResponse,
    checked_question,
    valid_text,
)
from index.errors import ArticleNotFoundError
from qa.answer import MAX_TOP_K
from qa.catalogue import article_page
from qa.chat import ChatMessage, chat_reply, chat_turn
from qa.errors import QuestionError
from qa.models import Citation, Filters
from service.services import Services

T = TypeVar("T")

CORPUS = (
    "The corpus is the news articles ingested into this cited-answers service "
    "(list_articles shows them: titles, outlets, dates)."
)
INSTRUCTIONS = (
    f"{CORPUS} Answers are sentences quoted word for word from one article, never generated "
    "text; every citation gives the article id and character offsets into the article's text "
    "(read it with get_article or the resource article://{id}), so a quote can be checked. "
    "When the articles do not hold an answer, ask says so (answered: false) and lists the "
    "nearest passages."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
Question = Annotated[
    str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question.")
]


class Runner(Protocol):
    """Runs blocking work off the event loop and returns its result."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


async def in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread: the runner of the stdio server."""
    return await anyio.to_thread.run_sync(fn)


def _filters(filters: FiltersIn | None) -> Filters | None:
    return filters.to_filters() if filters is not None else None


def build_server(services: Services, run: Runner = in_thread) -> MCPServer:
    """The MCP server over ``services``; ``run`` runs each tool's blocking work."""
    server: MCPServer = MCPServer(
        name="cited-answers",
        title="Cited answers from news articles",
        instructions=INSTRUCTIONS,
        version="0.1.0",
    )

    @server.tool(
        description=(
            f"Answer a question from the news articles. {CORPUS} The answer is one sentence "
            "quoted word for word from an article (never generated), with numbered citations: "
            "article id, passage id, character offsets into the article text, the quote, score "
            "and the highlighted sentence. answered is false when the articles do not hold the "
            "answer; the citations are then related reading. Give earlier_questions (oldest "
            "first) to read a vague follow-up after them."
        ),
        annotations=READ_ONLY,
    )
    async def ask(
        question: Question,
        top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K, description="Citations.")] = 5,
        filters: Annotated[FiltersIn | None, Field(description="Only these articles.")] = None,
        earlier_questions: Annotated[
            list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]] | None,
            Field(max_length=100, description="The conversation's earlier questions."),
        ] = None,
    ) -> CallToolResult:
        try:
            question = checked_question(question)
            earlier = [valid_text(q, "earlier_questions") for q in earlier_questions or ()]
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        messages = [ChatMessage("user", q) for q in [*earlier, question]]

        def answer() -> CallToolResult:
            turn = chat_turn(
                services.answerer,
                services.conversations,
                messages,
                top_k=top_k,
                filters=_filters(filters),
                followup_specificity=services.settings.followup_specificity,
            )
            cited = CitedAnswer.of(turn).model_dump(mode="json")
            text = chat_reply(turn.answer).text
            return CallToolResult(content=[TextContent(text=text)], structured_content=cited)

        try:
            return await run(answer)
        except QuestionError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(
        description=(
            f"Search the news articles for passages, ranked, without picking an answer. {CORPUS} "
            "Each passage is quoted as stored, with its article id and offsets into the text."
        ),
        annotations=READ_ONLY,
    )
    async def search(
        query: Question,
        k: Annotated[int, Field(ge=1, le=100, description="How many passages.")] = 10,
        filters: Annotated[FiltersIn | None, Field(description="Only these articles.")] = None,
    ) -> SearchResponse:
        try:
            query = valid_text(query.strip(), "query")
        except ValueError as exc:
            raise ToolError(str(exc)) from exc

        def found() -> SearchResponse:
            hits = services.answerer.search(query, k, filters=_filters(filters))
            citations = [CitationOut.of(Citation(rank=i + 1, hit=h)) for i, h in enumerate(hits)]
            return SearchResponse(query=query, citations=citations)

        try:
            return await run(found)
        except QuestionError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(
        description=(
            "Read one article: its metadata and full text, which every citation's offsets "
            "point into."
        ),
        annotations=READ_ONLY,
    )
    async def get_article(
        article_id: Annotated[str, Field(min_length=1, max_length=200, description="Its id.")],
    ) -> ArticleDetail:
        try:
            return await run(lambda: _article(services, article_id))
        except ArticleNotFoundError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(
        description=(
            f"List the articles (metadata and passage counts, ordered by id), a page at a time, "
            f"optionally only those matching filters. {CORPUS}"
        ),
        annotations=READ_ONLY,
    )
    async def list_articles(
        limit: Annotated[int, Field(ge=1, le=1000, description="Page size.")] = 100,
        offset: Annotated[int, Field(ge=0, le=10_000_000, description="Articles to skip.")] = 0,
        filters: Annotated[FiltersIn | None, Field(description="Only these articles.")] = None,
    ) -> ArticleList:
        def page() -> ArticleList:
            total, found = article_page(services.corpus.snapshot, offset, limit, _filters(filters))
            articles = [ArticleSummary.of(a, n) for a, n in found]
            return ArticleList(total=total, limit=limit, offset=offset, articles=articles)

        return await run(page)

    @server.resource(
        "article://{article_id}",
        name="article",
        description="An article's full text: the text every citation's offsets point into.",
        mime_type="text/plain",
    )
    async def article_text(article_id: str) -> str:
        try:
            return (await run(lambda: services.corpus.get_article(article_id))).text
        except ArticleNotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from exc

    return server


def _article(services: Services, article_id: str) -> ArticleDetail:
    """The article with its text and passage count; raises ``ArticleNotFoundError``."""
    article = services.corpus.get_article(article_id)
    _, count = services.corpus.snapshot.article(article.id) or (article, 0)
    return ArticleDetail(**ArticleSummary.of(article, count).model_dump(), text=article.text)


async def serve_stdio(services: Services) -> None:
    """Serve MCP on standard input and output until the client closes them."""
    await build_server(services).run_stdio_async()
