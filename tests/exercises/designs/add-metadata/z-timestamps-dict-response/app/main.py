"""HTTP routes of the research assistant."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from . import papers
from .config import load_settings
from .llm import LLMClient, LLMError
from .models import AskRequest, Paper

STATIC = Path(__file__).resolve().parent.parent / "static"
SYSTEM_PROMPT = (
    "You are a research assistant. Answer the question using only the papers given. "
    "Cite papers by their id in square brackets, like [p1]."
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = load_settings()
    async with httpx.AsyncClient() as http:
        app.state.llm = LLMClient(settings, http)
        yield


app = FastAPI(title="Research assistant", lifespan=lifespan)
app.mount("/static", StaticFiles(directory=STATIC), name="static")


@app.exception_handler(LLMError)
async def llm_error(request: Request, exc: LLMError) -> JSONResponse:
    headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
    return JSONResponse({"error": str(exc)}, status_code=exc.status_code, headers=headers)


def build_messages(question: str, chosen: list[Paper]) -> list[dict[str, str]]:
    context = "\n\n".join(f"[{p.id}] {p.title} ({p.year})\n{p.abstract}" for p in chosen)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Papers:\n{context}\n\nQuestion: {question}"},
    ]


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@app.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@app.get("/api/papers")
async def list_papers(q: str = "") -> list[Paper]:
    return papers.search(q, limit=10) if q else papers.PAPERS


@app.post("/api/answer", response_model=None)
async def answer(body: AskRequest, request: Request) -> dict[str, Any] | JSONResponse:
    chosen = papers.get_many(body.paper_ids) if body.paper_ids else papers.search(body.question)
    llm: LLMClient = request.app.state.llm
    started_ns = time.monotonic_ns()
    try:
        completion = await llm.complete(build_messages(body.question, chosen))
    except LLMError as exc:
        # Handled here rather than by an exception handler: same status and JSON body.
        return JSONResponse(
            {"error": {"message": str(exc), "status": exc.status_code}},
            status_code=exc.status_code,
        )
    latency_ms = (time.monotonic_ns() - started_ns) // 1_000_000
    created = datetime.now(UTC)
    return {
        "answer": completion.text,
        "sources": [{"id": p.id, "title": p.title, "year": p.year} for p in chosen],
        "metadata": {
            "model": completion.model,
            "latency_ms": int(latency_ms),
            # "Z" rather than "+00:00": both are RFC 3339 with a time zone.
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{created.microsecond // 1000:03d}Z",
            "usage": completion.usage.model_dump() if completion.usage is not None else None,
            "source_ids": [p.id for p in chosen],
        },
    }
