"""The API against its own OpenAPI schema: requests generated from the schema, valid ones and
deliberately broken ones, to every operation, with the writer's key, on the fake embedder. No
answer may be a 5xx, and every answer must be one the schema documents, in the shape it
documents.

Chains of calls along the links schemathesis infers (PUT an article, then read and delete it)
are not run: each scenario needs a fresh data directory to replay the same way, which costs
minutes here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from api.app import create_app
from service.services import build_services
from service.settings import Settings
from tests.fakes import FakeEmbedder

KEY = "fuzz-key"
# Status, content type, headers and body must be as documented, and none a 5xx. Whether the
# schema alone decides acceptance is not checked: free text has rules JSON Schema cannot say
# (a title of spaces, an id outside its pattern, the bulk route's reporting of bad lines
# in a 200), and a query string cannot carry a wrong type.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"enabled": False},
        },
        "headers": {"Authorization": f"Bearer {KEY}"},
        "generation": {"database": "none"},
    }
)
# The schema does not depend on the settings; the app it is read from is never started.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi(), config=CONFIG)
CASES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx: Any, value: Any) -> bytes:
    """The bulk route's body: one JSON value per line."""
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode("utf-8")


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    """Prints how many cases were sent and what came back (seen with ``pytest -s``)."""
    yield
    print(f"\nschemathesis: {sum(CASES.values())} cases; statuses {sorted(STATUSES.items())}")
    for label, count in sorted(CASES.items()):
        print(f"  {count:5d}  {label}")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """The app on the bundled article, writes on; each operation starts from it afresh, so its
    cases do not depend on which operations ran before."""
    config = Settings(data_dir=tmp_path / "data", api_key=KEY, refusal_threshold=0.05)
    yield create_app(config, lambda s: build_services(s, embedder=FakeEmbedder()))
    asgi.shutdown_lifespans()  # schemathesis started the app's lifespan on its first call


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, app: FastAPI) -> None:
    response = case.call_and_validate(app=app)
    CASES[case.operation.label] += 1
    STATUSES[response.status_code] += 1
