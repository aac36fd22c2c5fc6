"""Hostile and careless input over HTTP: keys, body limits, bad Unicode, headers, abuse
controls and what the service tells its operators."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.limits import BodyLimitMiddleware, Busy, WorkLimiter
from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
REEF = {"id": "reef", "title": "Coral reef", "text": "Half of the reef bleached in March."}


def client_with(tmp_path: Path, **extra: object) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", refusal_threshold=0.05, **extra)
    return make_client(settings, FakeEmbedder())


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[TestClient]:
    with client_with(tmp_path, api_key=KEY) as c:
        yield c


# Keys


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_key_turns_writes_off(tmp_path: Path, blank: str) -> None:
    with client_with(tmp_path, api_key=blank) as c:
        for header in ({"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {}):
            response = c.delete("/api/articles/china-pakistan-ties", headers=header)
            assert response.status_code == 403, header
        assert c.get("/api/articles").json()["total"] == 1


def test_a_blank_key_from_the_environment_turns_writes_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QA_API_KEY", "")
    assert Settings().api_key is None


def test_a_non_ascii_key_matches_when_sent_as_utf8(tmp_path: Path) -> None:
    key = "clé-sécrète"
    with client_with(tmp_path, api_key=key) as c:
        header = b"Bearer " + key.encode()
        response = c.put("/api/articles/reef", json=REEF, headers={"Authorization": header})
        assert response.status_code == 201, response.text
        wrong = c.put("/api/articles/reef", json=REEF, headers={"Authorization": b"Bearer cl\xe9"})
        assert wrong.status_code == 401


# Body limits, on every route, while reading


def test_open_routes_refuse_a_large_body_by_its_declared_length(tmp_path: Path) -> None:
    with client_with(tmp_path, max_body_bytes=1000) as c:
        big = json.dumps({"question": "x" * 5000})
        for path in ("/api/ask", "/api/feedback"):
            response = c.post(path, content=big, headers={"content-type": "application/json"})
            assert response.status_code == 413, path
            assert "the limit is 1000" in response.json()["detail"]


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    # At the ASGI level, since the test client buffers what it sends.
    from starlette.requests import Request

    async def reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()
        raise AssertionError("the whole body was read")

    app = BodyLimitMiddleware(reads_everything, limit_for=lambda method, path: 4000)
    received = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/ask", "headers": []}
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert "limit of 4000 bytes" in json.loads(sent[1]["body"])["detail"]
    assert received == 5  # stopped at the first chunk past the limit


def test_writes_have_their_own_larger_limit(tmp_path: Path) -> None:
    with client_with(tmp_path, api_key=KEY, max_body_bytes=100) as c:
        assert c.put("/api/articles/reef", json=REEF, headers=AUTH).status_code == 201
        assert c.post("/api/ask", json={"question": "reef " * 40}).status_code == 413


def test_a_bulk_call_holds_at_most_the_configured_articles(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"a{i}", "title": f"T{i}", "text": f"Text {i}."}) for i in range(4)]
    with client_with(tmp_path, api_key=KEY, max_bulk_articles=3) as c:
        response = c.post("/api/articles:bulk", content="\n".join(lines), headers=AUTH)
        assert response.status_code == 413
        assert "the limit per call is 3" in response.json()["detail"]
        assert c.get("/api/articles").json()["total"] == 1  # nothing went in


def test_a_bulk_line_over_the_line_limit_is_reported_and_the_rest_go_in(tmp_path: Path) -> None:
    short = json.dumps({"id": "short", "title": "Short", "text": "A short article."})
    long = json.dumps({"id": "long", "title": "Long", "text": "word " * 100})
    with client_with(tmp_path, api_key=KEY, max_line_bytes=200) as c:
        body = f"{short}\n{long}"
        report = c.post("/api/articles:bulk", content=body, headers=AUTH).json()
        assert report["added"] == ["short"]
        assert report["failed"] == [{"line": 2, "reason": "the line is longer than 200 bytes"}]


# Inputs that used to answer 500


def test_a_turn_beyond_any_index_is_refused(writer: TestClient) -> None:
    cid = writer.post("/api/ask", json={"question": "Jiang Zaidong"}).json()["conversation_id"]
    for turn in (2**63, 2**31, 10**7):
        response = writer.post(
            "/api/feedback", json={"conversation_id": cid, "turn": turn, "rating": "up"}
        )
        assert response.status_code == 422, turn
        assert "turn" in response.json()["detail"]


def test_a_page_beyond_any_offset_is_empty(writer: TestClient) -> None:
    for offset in (1, 2**63, 2**64):
        response = writer.get("/api/articles", params={"offset": offset})
        assert response.status_code == 200, offset
        assert response.json()["articles"] == []
        assert response.json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"question": "a\\ud800b"}', "field 'question' holds a lone surrogate"),
        ('{"question": "a\\udfffb"}', "field 'question' holds a lone surrogate"),
        ('{"question": "a\\u0000b"}', "field 'question' holds a NUL character"),
        ('{"question": "CPEC", "filters": {"source": "x\\ud800"}}', "filters.source"),
        ('{"question": "CPEC", "filters": {"article_ids": ["\\udc00"]}}', "filters.article_ids"),
    ],
)
def test_lone_surrogates_and_nul_are_refused(writer: TestClient, body: str, message: str) -> None:
    response = writer.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_a_bulk_line_with_a_lone_surrogate_is_reported_and_the_rest_go_in(
    writer: TestClient,
) -> None:
    # json.loads reads "\ud800" as a lone surrogate, which UTF-8 cannot encode: the whole call
    # used to fail with 500 when the article was hashed.
    bad = '{"id": "bad", "title": "Reef", "text": "Bleached\\ud800 in March."}'
    body = bad + "\n" + json.dumps(REEF)
    response = writer.post("/api/articles:bulk", content=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == ["reef"]
    [failure] = response.json()["failed"]
    assert failure["line"] == 1 and "field 'text' holds a lone surrogate" in failure["reason"]


def test_a_query_string_that_is_not_utf8_is_read_not_crashed_on(writer: TestClient) -> None:
    # %ED%A0%80 is a surrogate's UTF-8-style encoding, which UTF-8 forbids.
    assert writer.get("/api/search?q=reef%ED%A0%80").status_code == 200
    assert writer.get("/api/search?q=%00").status_code == 422


def test_bm25_with_only_unknown_words_answers(tmp_path: Path) -> None:
    with client_with(tmp_path, retrieval_method="bm25") as c:
        response = c.post("/api/ask", json={"question": "zzyzx qwxv"})
        assert response.status_code == 200, response.text
        assert response.json()["answered"] is False
        assert c.get("/api/search", params={"q": "zzyzx"}).status_code == 200


def test_bulk_parsing_runs_off_the_event_loop(
    writer: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.routes.articles as routes

    seen: list[bool] = []
    real = routes.decode_text

    def watched(data: bytes) -> str:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(data)

    monkeypatch.setattr(routes, "decode_text", watched)
    line = json.dumps(REEF)
    assert writer.post("/api/articles:bulk", content=line, headers=AUTH).status_code == 200
    assert seen == [False]


def test_unavailable_index_does_not_tell_its_path(writer: TestClient) -> None:
    from index.errors import CorruptIndexError

    @writer.app.get("/boom")  # type: ignore[attr-defined]
    def boom() -> None:
        raise CorruptIndexError("the manifest /srv/qa/data/manifest.json cannot be read: bad")

    response = writer.get("/boom")
    assert response.status_code == 503
    assert "/srv/qa" not in response.text
    assert "manifest" in response.json()["detail"]


# Headers and docs


def test_pages_carry_the_security_headers(writer: TestClient) -> None:
    for path in ("/", "/api/articles", "/static/app.js", "/healthz"):
        headers = writer.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_405_names_every_method_the_path_takes(writer: TestClient) -> None:
    response = writer.request("PATCH", "/api/articles/reef")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT, DELETE"  # three routes share the path
    assert writer.request("PATCH", "/api/articles").headers["allow"] == "GET, POST"
    assert writer.post("/static/app.js").headers["allow"] == "GET, HEAD"


def test_the_schema_documents_the_errors_as_they_are_sent(writer: TestClient) -> None:
    paths = writer.get("/openapi.json").json()["paths"]
    error = {"$ref": "#/components/schemas/ErrorOut"}
    assert paths["/api/ask"]["post"]["responses"]["422"]["content"]["application/json"] == {
        "schema": error
    }
    put = paths["/api/articles/{article_id}"]["put"]
    assert {"201", "401", "403", "413", "422"} <= set(put["responses"])
    assert "application/json" in put["requestBody"]["content"]
    response = writer.post("/api/ask", json={"question": ""})
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


def test_docs_are_served_from_this_server(writer: TestClient) -> None:
    page = writer.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "<script>" not in page.text
    assert writer.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert writer.get("/static/docs.js").status_code == 200
    assert writer.get("/openapi.json").status_code == 200
    assert writer.get("/redoc").status_code == 404


def test_docs_can_be_turned_off(tmp_path: Path) -> None:
    with client_with(tmp_path, docs=False) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 404


# Abuse controls


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with client_with(tmp_path, rate_limit="3/minute") as c:
        codes = [c.get("/api/articles").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/api/articles")
        assert int(limited.headers["retry-after"]) >= 1
        assert "3 per 1 minute" in limited.json()["detail"]
        assert c.get("/healthz").status_code == 200  # probes are not limited


def test_a_bad_rate_limit_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="QA_RATE_LIMIT"):
        Settings(rate_limit="lots")


def test_work_waits_its_turn_and_a_full_queue_is_refused() -> None:
    async def scenario() -> tuple[int, list[str]]:
        work = WorkLimiter(concurrent=1, queued=1)
        gate = anyio.Event()
        running = 0
        peak = 0
        outcomes: list[str] = []

        def job() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            anyio.from_thread.run(gate.wait)
            running -= 1

        async def submit() -> None:
            try:
                await work.run(job)
                outcomes.append("done")
            except Busy:
                outcomes.append("busy")

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(submit)
                await anyio.sleep(0.05)
            gate.set()
        return peak, sorted(outcomes)

    peak, outcomes = anyio.run(scenario)
    assert peak == 1
    assert outcomes == ["busy", "done", "done"]


# What operators see


def test_request_id_is_echoed_or_made(writer: TestClient) -> None:
    mine = writer.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    made = writer.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made.headers["x-request-id"] != "bad id\twith spaces"
    assert len(made.headers["x-request-id"]) == 32


def test_metrics_count_requests_and_the_index(writer: TestClient) -> None:
    writer.post("/api/ask", json={"question": "CPEC security"})
    writer.put("/api/articles/reef", json=REEF, headers=AUTH)
    text = writer.get("/metrics").text
    assert 'qa_http_requests_total{method="POST",route="/api/ask",status="200"} 1.0' in text
    assert 'route="/api/articles/{article_id}",status="201"' in text
    assert "qa_http_request_duration_seconds_bucket" in text
    assert 'qa_ingest_articles_total{outcome="added"} 1.0' in text
    assert "qa_index_articles 2.0" in text


def test_the_access_log_has_the_request_id_and_no_key(
    writer: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="api.access"):
        writer.put("/api/articles/reef", json=REEF, headers={**AUTH, "X-Request-ID": "r-1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api.access"]
    assert any(line["request_id"] == "r-1" and line["status"] == 201 for line in lines)
    assert KEY not in caplog.text


# Second round (issue 24)


def test_the_access_log_names_the_route_not_the_conversation_id(
    writer: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="api.access"):
        cid = writer.post("/api/ask", json={"question": "CPEC"}).json()["conversation_id"]
        assert writer.get(f"/api/conversations/{cid}").status_code == 200
        writer.post("/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "up"})
        writer.get(f"/api/conversations/{cid}x")  # an unknown id is not logged either
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api.access"]
    assert cid not in caplog.text
    template = "/api/conversations/{conversation_id}"
    assert any(line["route"] == template and line["status"] == 200 for line in lines)
    assert all("path" not in line for line in lines)


def _deep_line(depth: int) -> str:
    return '{"id": "deep", "title": "T", "text": ' + "[" * depth + "]" * depth + "}"


def test_a_deeply_nested_bulk_line_is_named_and_the_rest_go_in(writer: TestClient) -> None:
    body = _deep_line(100_000) + "\n" + json.dumps(REEF)
    response = writer.post("/api/articles:bulk", content=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == ["reef"]
    [failure] = response.json()["failed"]
    assert failure["line"] == 1 and "nested deeper than" in failure["reason"]


def test_a_deeply_nested_jsonl_upload_is_refused_naming_the_line(writer: TestClient) -> None:
    files = {"file": ("feed.jsonl", _deep_line(100_000).encode(), "application/x-ndjson")}
    response = writer.post("/api/articles", files=files, headers=AUTH)
    assert response.status_code == 422, response.text
    assert "feed.jsonl:1" in response.json()["detail"]
    assert "nested deeper than" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/ask", "/api/feedback"])
def test_a_deeply_nested_small_body_is_a_client_error(writer: TestClient, path: str) -> None:
    body = "[" * 30_000 + "]" * 30_000
    response = writer.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text


def test_a_bulk_body_is_refused_at_the_first_line_over_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.sources as sources

    parsed = 0
    real = sources.article_from_record

    def counted(record: object) -> object:
        nonlocal parsed
        parsed += 1
        return real(record)

    monkeypatch.setattr(sources, "article_from_record", counted)
    lines = [
        json.dumps({"id": f"a{i}", "title": f"T{i}", "text": f"Text {i}."}) for i in range(1000)
    ]
    with client_with(tmp_path, api_key=KEY, max_bulk_articles=3) as c:
        response = c.post("/api/articles:bulk", content="\n".join(lines), headers=AUTH)
        assert response.status_code == 413
        assert "the limit per call is 3" in response.json()["detail"]
    assert parsed <= 4  # not 1000: the body was read no further than the line over the limit


def test_redirects_never_carry_the_host_header(writer: TestClient) -> None:
    response = writer.get(
        "/api/articles/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert "evil.example" not in response.headers.get("location", "")
    assert response.status_code == 404


def test_history_is_paged_newest_last(writer: TestClient) -> None:
    cid = writer.post("/api/ask", json={"question": "CPEC 0"}).json()["conversation_id"]
    for i in range(1, 5):
        payload = {"question": f"CPEC {i}", "conversation_id": cid}
        assert writer.post("/api/ask", json=payload).status_code == 200
    page = writer.get(f"/api/conversations/{cid}", params={"limit": 2}).json()
    assert [t["turn"] for t in page["turns"]] == [3, 4]
    assert page["has_more"] is True
    older = writer.get(f"/api/conversations/{cid}", params={"limit": 2, "before": 3}).json()
    assert [t["turn"] for t in older["turns"]] == [1, 2]
    first = writer.get(f"/api/conversations/{cid}", params={"limit": 2, "before": 1}).json()
    assert [t["turn"] for t in first["turns"]] == [0] and first["has_more"] is False
    assert writer.get(f"/api/conversations/{cid}", params={"limit": 101}).status_code == 422


def test_history_reads_wait_in_the_question_limiter(writer: TestClient) -> None:
    from api.deps import get_work

    cid = writer.post("/api/ask", json={"question": "CPEC"}).json()["conversation_id"]
    ran: list[str] = []

    class Watched(WorkLimiter):
        async def run(self, fn, *args):  # type: ignore[no-untyped-def]
            ran.append(getattr(fn, "__name__", "?"))
            return await super().run(fn, *args)

    app = writer.app  # type: ignore[attr-defined]
    app.dependency_overrides[get_work] = lambda: Watched(1, 0)
    try:
        assert writer.get(f"/api/conversations/{cid}").status_code == 200
    finally:
        app.dependency_overrides.clear()
    assert ran, "GET /api/conversations/{id} ran outside the question limiter"


def test_an_unavailable_index_tells_no_address_uri_or_expression(writer: TestClient) -> None:
    from index.errors import CorpusError

    message = (
        "Milvus at http://127.0.0.1:19537 failed to search vectors: <MilvusException: "
        '(code=1100, message=cannot parse expression: outlet == "a\nb" on 10.0.0.7:19530)>'
    )

    @writer.app.get("/boom-milvus")  # type: ignore[attr-defined]
    def boom() -> None:
        raise CorpusError(message)

    detail = writer.get("/boom-milvus").json()["detail"]
    for secret in ("127.0.0.1", "19537", "10.0.0.7", "http://", "outlet ==", "MilvusException"):
        assert secret not in detail, (secret, detail)
    assert "failed to search vectors" in detail


def test_readyz_tells_no_address_uri_or_expression(writer: TestClient) -> None:
    from index.errors import CorpusError

    services = writer.app.state.services  # type: ignore[attr-defined]

    def down() -> None:
        raise CorpusError("Milvus at http://127.0.0.1:19537 is unreachable: connect 10.0.0.7:19530")

    real = services.corpus.check_ready
    services.corpus.check_ready = down
    try:
        response = writer.get("/readyz")
    finally:
        services.corpus.check_ready = real
    assert response.status_code == 503
    for secret in ("127.0.0.1", "19537", "10.0.0.7", "http://"):
        assert secret not in response.text, (secret, response.text)
    assert "unreachable" in response.json()["detail"]
