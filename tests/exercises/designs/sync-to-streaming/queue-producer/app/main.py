"""HTTP routes of the research assistant."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from . import papers
from .config import load_settings
from .llm import LLMClient, LLMError, StreamEnd
from .models import (
    AnswerMetadata,
    AnswerResponse,
    AskRequest,
    DoneEvent,
    ErrorEvent,
    Paper,
    Source,
    StreamMetadata,
    TokenEvent,
)

log = logging.getLogger(__name__)
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
    return JSONResponse({"error": str(exc)}, status_code=exc.status_code)


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


@app.post("/api/answer")
async def answer(body: AskRequest, request: Request) -> AnswerResponse:
    chosen = papers.get_many(body.paper_ids) if body.paper_ids else papers.search(body.question)
    llm: LLMClient = request.app.state.llm
    completion = await llm.complete(build_messages(body.question, chosen))
    return AnswerResponse(
        answer=completion.text,
        sources=[Source(id=p.id, title=p.title, year=p.year) for p in chosen],
        metadata=AnswerMetadata(model=completion.model, usage=completion.usage),
    )


def sse(event: str, payload: BaseModel) -> str:
    # The blank line ends the event; JSON from model_dump_json never contains a newline,
    # so one `data:` line carries the whole payload.
    return f"event: {event}\ndata: {payload.model_dump_json()}\n\n"


async def answer_events(llm: LLMClient, question: str, chosen: list[Paper]) -> AsyncIterator[str]:
    """The events of one answer, read from the provider by a task of their own: the
    response only drains a queue, and ends when the producer has put its last event."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for event in _events(llm, question, chosen):
                queue.put_nowait(event)
        finally:
            queue.put_nowait(None)  # the end, however the producer stopped

    producer = asyncio.create_task(produce())
    try:
        while (event := await queue.get()) is not None:
            yield event
    finally:
        # The client left early: stop reading from the provider too.
        producer.cancel()


async def _events(llm: LLMClient, question: str, chosen: list[Paper]) -> AsyncIterator[str]:
    """token* then exactly one of done | error."""
    end: StreamEnd | None = None
    try:
        async for item in llm.stream(build_messages(question, chosen)):
            if isinstance(item, StreamEnd):
                end = item
            else:
                yield sse("token", TokenEvent(text=item))
    except LLMError as exc:
        yield sse("error", ErrorEvent(error=str(exc), code=exc.code))
        return
    except Exception:
        # The response has started (status 200 is gone), so a bug must still end the
        # stream with an error event rather than a silently truncated answer.
        log.exception("answer stream failed")
        yield sse("error", ErrorEvent(error="the assistant failed", code="provider_error"))
        return
    if end is None:
        yield sse("error", ErrorEvent(error="the answer ended early", code="provider_error"))
        return
    yield sse(
        "done",
        DoneEvent(
            sources=[Source(id=p.id, title=p.title, year=p.year) for p in chosen],
            metadata=StreamMetadata(
                model=end.model, usage=end.usage, finish_reason=end.finish_reason
            ),
        ),
    )


@app.post("/api/answer/stream")
async def answer_stream(body: AskRequest, request: Request) -> StreamingResponse:
    chosen = papers.get_many(body.paper_ids) if body.paper_ids else papers.search(body.question)
    llm: LLMClient = request.app.state.llm
    return StreamingResponse(
        answer_events(llm, body.question, chosen),
        media_type="text/event-stream",
        # no-cache: an event stream is never replayed; X-Accel-Buffering: nginx and
        # similar proxies would otherwise hold events back until the buffer fills.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
