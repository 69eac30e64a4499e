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
from .llm import LLMClient
from .models import Answer, AskRequest, Paper, Source
from .pipeline import run_answer

STATIC = Path(__file__).resolve().parent.parent / "static"
# Events after which the stream ends.
FINAL_EVENTS = {"done", "error"}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = load_settings()
    async with httpx.AsyncClient() as http:
        app.state.llm = LLMClient(settings, http)
        app.state.store = AnswerStore()
        # The event loop keeps only weak references to tasks: hold the running ones here.
        app.state.jobs = set()
        yield


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

    # The answer is worked out in the background, so it is saved even when the reader
    # leaves; the stream below only relays its progress.
    job = asyncio.create_task(
        run_answer(
            answer_id=answer.id,
            question=body.question,
            papers=chosen,
            llm=request.app.state.llm,
            store=store,
            emit=emit,
        ),
        name=f"answer-{answer.id}",
    )
    jobs: set[asyncio.Task[None]] = request.app.state.jobs
    jobs.add(job)
    job.add_done_callback(jobs.discard)

    async def relay() -> AsyncIterator[str]:
        yield sse("created", {"id": answer.id})
        while True:
            event, data = await events.get()
            yield sse(event, data)
            if event in FINAL_EVENTS:
                return

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


@app.get("/debug/tasks")
async def debug_tasks() -> dict[str, Any]:
    """The tasks alive on the server's event loop, except the one answering this request."""
    me = asyncio.current_task()
    alive = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    described = [
        {"name": t.get_name(), "coro": getattr(t.get_coro(), "__qualname__", "?")} for t in alive
    ]
    return {"count": len(alive), "tasks": sorted(described, key=lambda d: (d["name"], d["coro"]))}
