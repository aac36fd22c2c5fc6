"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The index is not loaded yet."}})
async def readyz(request: Request) -> JSONResponse:
    """The index is loaded: answers with its counts."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "loading"}, status_code=503)
    snapshot = services.corpus.snapshot
    return JSONResponse(
        {
            "status": "ready",
            "model": services.embedder.name,
            # Questions are answered from here on; a write waits until these are loaded too.
            "write_models": "loaded" if services.writes_loaded else "loading",
            "articles": snapshot.article_count,
            "passages": snapshot.passage_count,
            "sentences": snapshot.sentence_count,
            "generation": snapshot.generation,
        }
    )
