"""The MCP server through the `mcp` SDK's own client, over both transports: `qa mcp` as a
subprocess on stdio, and streamable HTTP at /mcp of `qa serve` (both on the fake embedder).
Tools are listed and called, an article is read as a resource, and bad or hostile arguments
come back as MCP errors while the server keeps answering."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, MCPError, StdioServerParameters

from tests.live import FAKE_QA, LiveServer

pytestmark = pytest.mark.server

QUESTION = "What did Jiang Zaidong say about security and CPEC?"
ENV = {"QA_REFUSAL_THRESHOLD": "0.05"}
TOOLS = {"ask", "search", "get_article", "list_articles"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("mcp-http") / "data"
    live = LiveServer(data_dir, FAKE_QA, ENV)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def stdio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-stdio") / "data"


def stdio(data_dir: Path) -> StdioServerParameters:
    """`qa mcp --data-dir` with the fake embedder, as a desktop client starts it."""
    return StdioServerParameters(
        command=FAKE_QA[0],
        args=[*FAKE_QA[1:], "mcp", "--data-dir", str(data_dir)],
        env={**os.environ, **ENV},
    )


@pytest.fixture(params=["stdio", "http"])
def connect(
    request: pytest.FixtureRequest, stdio_dir: Path
) -> Callable[[Callable[[Client], Awaitable[Any]]], Any]:
    """Runs a coroutine with a connected client, over either transport."""
    if request.param == "stdio":
        target: Any = stdio(stdio_dir)
    else:
        target = f"{request.getfixturevalue('server').url}/mcp"

    def run(body: Callable[[Client], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            async with Client(target, read_timeout_seconds=60) as client:
                return await body(client)

        return anyio.run(main)

    return run


def test_the_tools_say_what_the_corpus_is_and_that_answers_are_quotes(connect: Any) -> None:
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools, (await client.list_resource_templates())

    tools, templates = connect(body)
    assert {t.name for t in tools} == TOOLS
    ask = next(t for t in tools if t.name == "ask")
    assert "news articles" in (ask.description or "")
    assert "quoted word for word" in (ask.description or "")
    assert {"question", "top_k", "filters", "earlier_questions"} <= set(
        ask.input_schema["properties"]
    )
    assert [t.uri_template for t in templates.resource_templates] == ["article://{article_id}"]


def test_ask_quotes_the_article_at_the_offsets_it_gives(connect: Any) -> None:
    async def body(client: Client) -> Any:
        result = await client.call_tool("ask", {"question": QUESTION, "top_k": 3})
        cited = result.structured_content
        texts = {}
        for c in cited["citations"]:
            read = await client.read_resource(f"article://{c['article_id']}")
            texts[c["article_id"]] = read.contents[0].text
        return result, texts

    result, texts = connect(body)
    assert not result.is_error
    cited = result.structured_content
    assert cited["answered"] is True
    assert len(cited["citations"]) == 3
    for c in cited["citations"]:
        text = texts[c["article_id"]]
        assert text[c["start"] : c["end"]] == c["text"]
        if c["highlight"] is not None:
            start, end = c["highlight"]
            assert cited["answer"] == f"{text[start:end]} [{c['rank']}]"
    # The text content is the reply a chat shows: the quote, then the sources.
    assert result.content[0].text.startswith(cited["answer"] + "\n\n**Sources**")


def test_ask_reads_a_follow_up_after_the_earlier_questions(connect: Any) -> None:
    async def body(client: Client) -> Any:
        arguments = {"question": "What did he say?", "earlier_questions": [QUESTION]}
        return await client.call_tool("ask", arguments)

    cited = connect(body).structured_content
    assert cited["resolved_query"] == f"{QUESTION} What did he say?"


def test_search_get_article_and_list_articles(connect: Any) -> None:
    async def body(client: Client) -> Any:
        found = await client.call_tool("search", {"query": "CPEC security", "k": 2})
        listed = await client.call_tool("list_articles", {"limit": 5})
        first = listed.structured_content["articles"][0]["id"]
        article = await client.call_tool("get_article", {"article_id": first})
        none = await client.call_tool("list_articles", {"filters": {"source": "No Such Outlet"}})
        return found, listed, article, none

    found, listed, article, none = connect(body)
    assert len(found.structured_content["citations"]) == 2
    assert listed.structured_content["total"] == 1
    assert article.structured_content["text"][:20]
    assert article.structured_content["passage_count"] > 1
    assert none.structured_content["total"] == 0


BAD_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("ask", {"question": QUESTION, "top_k": "many"}),
    ("ask", {"question": QUESTION, "top_k": 0}),
    ("ask", {"question": ""}),
    ("ask", {}),
    ("ask", {"question": 12}),
    ("ask", {"question": ["a"]}),
    ("ask", {"question": "who\x00"}),
    ("ask", {"question": "why " * 10_000}),
    ("ask", {"question": "hi", "earlier_questions": ["x"] * 10_000}),
    ("ask", {"question": "hi", "filters": {"published_from": "yesterday"}}),
    ("ask", {"question": "hi", "filters": {"colour": "red"}}),
    ("search", {"query": "x", "k": 10**9}),
    ("search", {"query": {"a": 1}}),
    ("get_article", {"article_id": "no-such-article"}),
    ("list_articles", {"offset": -1}),
    ("no_such_tool", {}),
]


def test_a_bad_argument_is_an_mcp_error_and_the_server_goes_on(connect: Any) -> None:
    async def body(client: Client) -> Any:
        refused = []
        for tool, arguments in BAD_CALLS:
            try:
                result = await client.call_tool(tool, arguments)
                refused.append(result.is_error)
            except MCPError:
                refused.append(True)
        after = await client.call_tool("search", {"query": "CPEC", "k": 1})
        return refused, after

    refused, after = connect(body)
    assert [call for call, no in zip(BAD_CALLS, refused, strict=True) if not no] == []
    assert not after.is_error


def test_an_unknown_article_resource_is_an_mcp_error(connect: Any) -> None:
    async def body(client: Client) -> Any:
        with pytest.raises(MCPError):
            await client.read_resource("article://no-such-article")
        return True

    assert connect(body)


def test_hostile_http_bodies_are_refused_without_a_5xx(server: LiveServer) -> None:
    url = f"{server.url}/mcp"
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    bodies: list[bytes] = [
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", '
        b'"arguments": {"question": "\\ud800"}}}',
        b"{not json",
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": "x"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", '
        b'"arguments": {"question": "' + b"why " * 30_000 + b'"}}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": {}, "more": "\xff"}',
    ]
    for body in bodies:
        response = httpx.post(url, content=body, headers=headers, timeout=60)
        assert response.status_code < 500, (body[:80], response.status_code, response.text)


def test_lone_surrogates_over_stdio_are_refused_and_the_server_goes_on(stdio_dir: Path) -> None:
    """The SDK's client cannot send a lone surrogate (it encodes UTF-8), but JSON can spell one:
    written to `qa mcp` by hand, each call is refused and the next is answered."""
    parameters = stdio(stdio_dir)
    process = subprocess.Popen(
        [parameters.command, *parameters.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=parameters.env,
    )
    assert process.stdin is not None and process.stdout is not None

    def send(message: dict[str, Any] | str) -> None:
        line = message if isinstance(message, str) else json.dumps(message)
        process.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    def replies_until(request_id: int) -> list[dict[str, Any]]:
        """The replies read up to and including the one to ``request_id``."""
        replies = []
        while True:
            message = json.loads(process.stdout.readline())  # type: ignore[union-attr]
            if "id" in message:
                replies.append(dict(message))
            if message.get("id") == request_id:
                return replies

    try:
        send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "by-hand", "version": "0"},
                },
            }
        )
        assert "result" in replies_until(1)[-1]
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        call = '{"jsonrpc": "2.0", "id": %d, "method": "tools/call", "params": %s}'
        send(call % (2, '{"name": "ask", "arguments": {"question": "\\ud800 who?"}}'))
        send(call % (3, '{"name": "search", "arguments": {"query": "\\udfff"}}'))
        send(call % (4, '{"name": "ask", "arguments": {"question": "x", "top_k": "\\ud800"}}'))
        send(
            '{"jsonrpc": "2.0", "id": 5, "method": "resources/read", '
            '"params": {"uri": "article://\\ud800"}}'
        )
        send(call % (6, '{"name": "search", "arguments": {"query": "CPEC", "k": 1}}'))
        answers = replies_until(6)
        # The SDK reads a line whose JSON it refuses as no message at all (no id to answer);
        # whatever is answered of the four is an error, and the next call is answered.
        for answer in answers[:-1]:
            assert "error" in answer or answer["result"]["isError"] is True, answer
        assert answers[-1]["result"]["isError"] is False
        assert process.poll() is None
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
