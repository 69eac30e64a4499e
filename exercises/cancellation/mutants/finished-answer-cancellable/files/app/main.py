"""HTTP routes of the research assistant."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from . import papers
from .answers import AnswerStore
from .config import load_settings
from .jobs import AnswerJobs
from .llm import LLMClient
from .models import Answer, AskRequest, Paper, Source
from .pipeline import run_answer

STATIC = Path(__file__).resolve().parent.parent / "static"
# Events after which the stream ends.
FINAL_EVENTS = {"done", "error", "cancelled"}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = load_settings()
    async with httpx.AsyncClient() as http:
        app.state.llm = LLMClient(settings, http)
        app.state.store = AnswerStore()
        app.state.jobs = AnswerJobs()
        try:
            yield
        finally:
            app.state.jobs.cancel_all()


app = FastAPI(title="Research assistant", lifespan=lifespan)
app.mount("/static", StaticFiles(directory=STATIC), name="static")


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@app.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@app.get("/api/papers")
async def list_papers(q: str = "") -> list[Paper]:
    return papers.search(q, limit=10) if q else papers.PAPERS


@app.post("/api/answers")
async def create_answer(body: AskRequest, request: Request) -> StreamingResponse:
    """Answer a question, streamed as server-sent events (see README)."""
    chosen = papers.get_many(body.paper_ids) if body.paper_ids else papers.search(body.question)
    store: AnswerStore = request.app.state.store
    answer = store.create(
        body.question, [Source(id=p.id, title=p.title, year=p.year) for p in chosen]
    )
    events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def emit(event: str, data: dict[str, Any]) -> None:
        events.put_nowait((event, data))

    # The work runs in its own task so that POST /api/answers/{id}/cancel can stop it;
    # the stream below relays its progress and owns its lifetime.
    jobs: AnswerJobs = request.app.state.jobs
    job = jobs.start(
        answer.id,
        run_answer(
            answer_id=answer.id,
            question=body.question,
            papers=chosen,
            llm=request.app.state.llm,
            store=store,
            emit=emit,
        ),
    )

    async def relay() -> AsyncIterator[str]:
        try:
            yield sse("created", {"id": answer.id})
            while True:
                event, data = await events.get()
                yield sse(event, data)
                if event in FINAL_EVENTS:
                    return
        finally:
            # Also reached when the reader hangs up: Starlette then cancels this
            # generator. Nobody is left to read the answer, so stop paying for it.
            job.cancel()

    return StreamingResponse(
        relay(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@app.get("/api/answers")
async def list_answers(request: Request) -> list[Answer]:
    store: AnswerStore = request.app.state.store
    return store.recent()


@app.get("/api/answers/{answer_id}")
async def get_answer(answer_id: str, request: Request) -> Answer:
    store: AnswerStore = request.app.state.store
    answer = store.get(answer_id)
    if answer is None:
        raise HTTPException(status_code=404, detail="no such answer")
    return answer


@app.post("/api/answers/{answer_id}/cancel")
async def cancel_answer(answer_id: str, request: Request) -> Answer:
    """Stop a running answer (the Stop button); its stream ends with a cancelled event."""
    store: AnswerStore = request.app.state.store
    answer = store.get(answer_id)
    if answer is None:
        raise HTTPException(status_code=404, detail="no such answer")
    jobs: AnswerJobs = request.app.state.jobs
    jobs.cancel(answer_id)
    # Marked here as well as in the job, so a GET right after the Stop already says so.
    return store.cancel(answer_id)


@app.get("/debug/tasks")
async def debug_tasks() -> dict[str, Any]:
    """The tasks alive on the server's event loop, except the one answering this request."""
    me = asyncio.current_task()
    alive = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    described = [
        {"name": t.get_name(), "coro": getattr(t.get_coro(), "__qualname__", "?")} for t in alive
    ]
    return {"count": len(alive), "tasks": sorted(described, key=lambda d: (d["name"], d["coro"]))}
