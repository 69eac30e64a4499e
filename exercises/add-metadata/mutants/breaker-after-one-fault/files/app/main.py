"""HTTP routes of the research assistant."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from . import papers
from .config import load_settings
from .llm import LLMClient, LLMError, LLMUnavailable
from .models import AnswerMetadata, AnswerResponse, AskRequest, Paper, Source, utc_now

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


BREAKER = {"open_until": 0.0}


@app.post("/api/answer")
async def answer(body: AskRequest, request: Request) -> AnswerResponse:
    chosen = papers.get_many(body.paper_ids) if body.paper_ids else papers.search(body.question)
    llm: LLMClient = request.app.state.llm
    # A circuit breaker that opens on the first fault and stays open for a minute.
    if time.monotonic() < BREAKER["open_until"]:
        raise LLMUnavailable("the model provider is having trouble; try again later")
    started = time.perf_counter()
    try:
        completion = await llm.complete(build_messages(body.question, chosen))
    except LLMError:
        BREAKER["open_until"] = time.monotonic() + 60
        raise
    latency_ms = round((time.perf_counter() - started) * 1000)
    return AnswerResponse(
        answer=completion.text,
        sources=[Source(id=p.id, title=p.title, year=p.year) for p in chosen],
        metadata=AnswerMetadata(
            model=completion.model,
            latency_ms=latency_ms,
            created_at=utc_now(),
            usage=completion.usage,
            source_ids=[p.id for p in chosen],
        ),
    )
