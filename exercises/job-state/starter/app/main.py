"""HTTP routes of the research assistant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from . import extraction, papers
from .config import load_settings
from .llm import LLMClient
from .models import (
    AnswerResponse,
    AskRequest,
    ExtractRequest,
    ExtractResponse,
    Paper,
    PaperExtraction,
    Source,
)

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
    text = await llm.complete(build_messages(body.question, chosen))
    return AnswerResponse(
        answer=text,
        sources=[Source(id=p.id, title=p.title, year=p.year) for p in chosen],
    )


@app.post("/api/extract")
async def extract(body: ExtractRequest, request: Request) -> ExtractResponse:
    """Extract the requested fields from each paper, one model call per paper.

    Prototype: the browser waits until every paper is done, one after the other.
    """
    unknown = [i for i in body.paper_ids if papers.get(i) is None]
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown paper ids: {unknown}")
    llm: LLMClient = request.app.state.llm
    results = []
    for paper in papers.get_many(body.paper_ids):
        text = await llm.complete(extraction.build_messages(paper, body.fields))
        results.append(PaperExtraction(paper_id=paper.id, result=text))
    return ExtractResponse(results=results)
