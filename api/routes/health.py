"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.security import public_detail
from index.errors import CorpusError

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "The index is not loaded yet, or Milvus does not answer."}},
)
async def readyz(request: Request) -> JSONResponse:
    """The index is loaded: answers with its counts."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "loading"}, status_code=503)
    snapshot = services.corpus.snapshot
    try:
        backend = await run_in_threadpool(services.corpus.check_ready)
    except CorpusError as exc:
        log.warning("not ready: %s", exc)
        return JSONResponse(
            {"status": "unavailable", "detail": public_detail(str(exc))}, status_code=503
        )
    return JSONResponse(
        {
            "status": "ready",
            **backend,
            "model": services.embedder.name,
            # Questions are answered from here on; a write waits until these are loaded too.
            "write_models": "loaded" if services.writes_loaded else "loading",
            "articles": snapshot.article_count,
            "passages": snapshot.passage_count,
            "sentences": snapshot.sentence_count,
            "generation": snapshot.generation,
        }
    )
