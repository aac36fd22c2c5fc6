"""The OpenAI-compatible routes through OpenAI's own Python client, against `qa serve` on
loopback (the fake embedder): plain and streamed completions, a follow-up read from the
messages, a refusal, errors in OpenAI's shape, citations whose offsets hold the article text,
and hostile bodies answered 4xx, never 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from qa.chat import REFUSAL
from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder
from tests.live import FAKE_QA, LiveServer

QUESTION = "What did Jiang Zaidong say about security and CPEC?"
FOLLOW_UP = "What did he say about the attacks?"
UNRELATED = "sourdough yeast recipe"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `qa serve` on the bundled article for the module."""
    data_dir = tmp_path_factory.mktemp("openai") / "data"
    live = LiveServer(data_dir, FAKE_QA, {"QA_REFUSAL_THRESHOLD": "0.05"})
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> openai.OpenAI:
    """OpenAI's client pointed at the server, with no retries (a 5xx must show)."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def qa_field(response: Any) -> dict[str, Any]:
    """The structured citations a strict client leaves in ``model_extra``."""
    extra = response.model_extra or {}
    assert "qa" in extra, "the completion carries no qa field"
    return dict(extra["qa"])


@pytest.mark.server
def test_models_lists_the_pipeline(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["cited-answers"]


@pytest.mark.server
def test_a_completion_quotes_the_answer_with_numbered_sources(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="cited-answers", messages=[user(QUESTION)])
    [choice] = completion.choices
    assert completion.object == "chat.completion"
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content or ""
    qa = qa_field(completion)
    assert qa["answered"] is True
    assert content.startswith(qa["answer"] + "\n\n**Sources**\n\n")
    # Every citation is a numbered source, in rank order.
    for citation in qa["citations"]:
        assert f"\n{citation['rank']}. " in content
    [cited] = [c for c in qa["citations"] if c["highlight"] is not None]
    assert qa["answer"].endswith(f" [{cited['rank']}]")
    assert qa["conversation_id"] is None  # nothing stored without one


@pytest.mark.server
def test_citation_offsets_hold_the_article_text(client: openai.OpenAI, server: LiveServer) -> None:
    completion = client.chat.completions.create(model="m", messages=[user(QUESTION)])
    qa = qa_field(completion)
    texts: dict[str, str] = {}
    for c in qa["citations"]:
        if c["article_id"] not in texts:
            article = httpx.get(f"{server.url}/api/articles/{c['article_id']}").json()
            texts[c["article_id"]] = article["text"]
        text = texts[c["article_id"]]
        assert text[c["start"] : c["end"]] == c["text"]
        if c["highlight"] is not None:
            start, end = c["highlight"]
            assert qa["answer"] == f"{text[start:end]} [{c['rank']}]"
            assert f"> {text[start:end]}" in (completion.choices[0].message.content or "")
            span = qa["answer_span"]
            if span is not None:
                assert text[span["start"] : span["end"]] == span["text"]


@pytest.mark.server
def test_a_stream_joined_is_the_plain_answer(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="m", messages=[user(QUESTION)])
    chunks = list(client.chat.completions.create(model="m", messages=[user(QUESTION)], stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert len(chunks) > 3, "the answer comes in pieces"
    joined = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert joined == plain.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert qa_field(chunks[-1]) == qa_field(plain)


@pytest.mark.server
def test_a_stream_ends_with_done(server: LiveServer) -> None:
    body = {"messages": [user(QUESTION)], "stream": True}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)


@pytest.mark.server
def test_a_vague_follow_up_is_read_after_the_question_before(
    client: openai.OpenAI, server: LiveServer
) -> None:
    first = client.chat.completions.create(model="m", messages=[user(QUESTION)])
    messages: list[Any] = [
        {"role": "system", "content": "You are a helpful assistant."},
        user(QUESTION),
        {"role": "assistant", "content": first.choices[0].message.content},
        user(FOLLOW_UP),
    ]
    second = qa_field(client.chat.completions.create(model="m", messages=messages))
    assert second["question"] == FOLLOW_UP
    assert QUESTION in second["resolved_query"] and FOLLOW_UP in second["resolved_query"]
    # The same two turns through a stored conversation give the same answer.
    asked = httpx.post(f"{server.url}/api/ask", json={"question": QUESTION}).json()
    again = httpx.post(
        f"{server.url}/api/ask",
        json={"question": FOLLOW_UP, "conversation_id": asked["conversation_id"]},
    ).json()
    assert again["resolved_query"] == second["resolved_query"]
    assert again["answer"] == second["answer"]
    assert [c["passage_id"] for c in again["citations"]] == [
        c["passage_id"] for c in second["citations"]
    ]


@pytest.mark.server
def test_a_conversation_id_stores_the_turn(client: openai.OpenAI, server: LiveServer) -> None:
    asked = httpx.post(f"{server.url}/api/ask", json={"question": QUESTION}).json()
    extra = {"qa": {"conversation_id": asked["conversation_id"]}}
    qa = qa_field(
        client.chat.completions.create(model="m", messages=[user(FOLLOW_UP)], extra_body=extra)
    )
    assert (qa["conversation_id"], qa["turn"]) == (asked["conversation_id"], 1)
    assert QUESTION in qa["resolved_query"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="m", messages=[user(QUESTION)], extra_body={"qa": {"conversation_id": "nope"}}
        )


@pytest.mark.server
def test_a_refusal_lists_related_reading(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="m", messages=[user(UNRELATED)], extra_body={"qa": {"top_k": 2}}
    )
    qa = qa_field(completion)
    content = completion.choices[0].message.content or ""
    assert qa["answered"] is False and qa["answer"] is None
    assert len(qa["citations"]) == 2
    assert content.startswith(f"{REFUSAL}\n\n**Related reading**\n\n1. ")
    assert "\n2. " in content


@pytest.mark.server
def test_filters_narrow_the_articles(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="m",
        messages=[user(QUESTION)],
        extra_body={"qa": {"filters": {"source": "No Such Outlet"}}},
    )
    qa = qa_field(completion)
    assert (qa["answered"], qa["citations"]) == (False, [])
    assert completion.choices[0].message.content == REFUSAL


@pytest.mark.server
def test_openai_parameters_it_does_not_use_are_ignored(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="m", messages=[user(QUESTION)])
    tuned = client.chat.completions.create(
        model="gpt-4o",
        messages=[user(QUESTION)],
        temperature=0.2,
        top_p=0.5,
        max_tokens=10,
        n=1,
        stop=["."],
        seed=1,
        presence_penalty=1,
        user="someone",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        response_format={"type": "json_object"},
        extra_body={"reasoning_effort": "low", "something_new": [1, 2]},
    )
    assert tuned.model == "gpt-4o"
    assert tuned.choices[0].message.content == plain.choices[0].message.content


@pytest.mark.server
@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"model": "m", "messages": []}, "messages", "at least 1 item"),
        ({"model": "m", "messages": [{"role": "assistant", "content": "hi"}]}, None, "'user'"),
        ({"model": "m", "messages": [user("   ")]}, None, "the question is empty"),
        ({"model": "m", "messages": [user("x" * 1001)]}, None, "the limit is 1000"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role", ""),
        ({"model": "m", "messages": [user("hi")], "qa": {"top_k": 0}}, "qa.top_k", "1"),
        ({"model": "m", "messages": [user("hi")], "qa": {"colour": 1}}, "qa.colour", "Extra"),
        ({"model": "m", "messages": "hi"}, "messages", "valid list"),
        ({"model": "m", "messages": [user("hi")], "stream": [1]}, "stream", "boolean"),
    ],
)
def test_a_bad_request_is_an_openai_error(
    client: openai.OpenAI, body: dict[str, Any], param: str | None, words: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/chat/completions", body=body, cast_to=httpx.Response)
    error = caught.value
    assert error.status_code == 400
    assert isinstance(error.body, dict)
    assert set(error.body) == {"message", "type", "param", "code"}
    assert error.body["type"] == "invalid_request_error"
    assert error.body["param"] == param
    assert words in error.body["message"]


def raw(server: LiveServer, body: bytes | str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=60,
    )


@pytest.mark.server
@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("lone surrogate", '{"messages": [{"role": "user", "content": "\\ud800 who?"}]}', 400),
        (
            "lone surrogate in a part",
            '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}]}',
            400,
        ),
        ("NUL", '{"messages": [{"role": "user", "content": "who\\u0000"}]}', 400),
        ("huge message", json.dumps({"messages": [user("why " * 50_000)]}), 413),
        ("10,000 messages", json.dumps({"messages": [user("hi")] * 10_000}), 413),
        ("1,001 small messages", json.dumps({"messages": [{"role": "user"}] * 1001}), 400),
        ("not JSON", "{messages: ", 400),
        ("not UTF-8", b'{"messages": [{"role": "user", "content": "\xff"}]}', 400),
        ("a number", "12", 400),
        ("wrong content type", '{"messages": [{"role": "user", "content": {"a": 1}}]}', 400),
        ("null message", '{"messages": [null]}', 400),
        ("deep nesting", '{"messages": ' + "[" * 5000 + "]" * 5000 + "}", 400),
    ],
)
def test_hostile_bodies_are_refused_in_openai_shape(
    server: LiveServer, name: str, body: bytes | str, status: int
) -> None:
    response = raw(server, body)
    assert response.status_code == status, (name, response.text)
    error = response.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error"


@pytest.mark.server
def test_unknown_v1_paths_answer_in_openai_shape(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/v1/embeddings", json={"input": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # Other routes keep their own error shape.
    assert "detail" in httpx.get(f"{server.url}/api/articles/nope").json()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", refusal_threshold=0.05, rate_limit="2/minute")
    with make_client(settings, FakeEmbedder()) as c:
        yield c


def test_the_rate_limit_covers_v1_in_openai_shape(limited: TestClient) -> None:
    body = {"messages": [user(QUESTION)]}
    assert limited.post("/v1/chat/completions", json=body).status_code == 200
    assert limited.get("/v1/models").status_code == 200
    refused = limited.post("/v1/chat/completions", json=body)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"


def test_the_fuzz_test_covers_the_v1_routes() -> None:
    from tests.api.test_fuzz import schema

    labels = {operation.ok().label for operation in schema.get_all_operations()}
    assert {"GET /v1/models", "POST /v1/chat/completions"} <= labels
