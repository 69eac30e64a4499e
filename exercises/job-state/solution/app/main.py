"""HTTP routes of the research assistant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from . import papers
from .config import load_settings
from .jobs import Extraction, Job, JobRunner, JobState
from .llm import LLMClient, ProviderError
from .models import (
    AnswerResponse,
    AskRequest,
    ExtractionStatus,
    ExtractRequest,
    JobStatus,
    Paper,
    Progress,
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
        app.state.runner = JobRunner(settings, app.state.llm)
        try:
            yield
        finally:
            await app.state.runner.close()


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
    try:
        text = await llm.complete(build_messages(body.question, chosen))
    except ProviderError as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from exc
    return AnswerResponse(
        answer=text,
        sources=[Source(id=p.id, title=p.title, year=p.year) for p in chosen],
    )


def extraction_status(ex: Extraction) -> ExtractionStatus:
    return ExtractionStatus(
        id=ex.id,
        state="finished" if ex.finished else "running",
        fields=ex.fields,
        created_at=ex.created_at,
        progress=Progress(total=len(ex.jobs), **{s.value: ex.counts[s] for s in JobState}),
        jobs=[job_status(job) for job in ex.jobs],
    )


def job_status(job: Job) -> JobStatus:
    return JobStatus(
        id=job.id,
        paper_id=job.paper.id,
        state=job.state.value,
        attempts=job.attempts,
        result=job.result,
        error=job.error,
    )


def find_extraction(request: Request, extraction_id: str) -> Extraction:
    runner: JobRunner = request.app.state.runner
    ex = runner.get(extraction_id)
    if ex is None:
        raise HTTPException(status_code=404, detail="no such extraction")
    return ex


@app.post("/api/extractions", status_code=202)
async def create_extraction(
    body: ExtractRequest, request: Request, response: Response
) -> ExtractionStatus:
    """Start one job per paper; answers at once, the jobs run in the background."""
    unknown = [i for i in body.paper_ids if papers.get(i) is None]
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown paper ids: {unknown}")
    if len(set(body.paper_ids)) != len(body.paper_ids):
        raise HTTPException(status_code=422, detail="each paper may be listed once")
    runner: JobRunner = request.app.state.runner
    ex = runner.create(papers.get_many(body.paper_ids), list(body.fields))
    response.headers["Location"] = f"/api/extractions/{ex.id}"
    return extraction_status(ex)


@app.get("/api/extractions/{extraction_id}")
async def get_extraction(extraction_id: str, request: Request) -> ExtractionStatus:
    return extraction_status(find_extraction(request, extraction_id))


@app.post("/api/extractions/{extraction_id}/cancel")
async def cancel_extraction(extraction_id: str, request: Request) -> ExtractionStatus:
    """Cancel every job that has not finished; finished jobs keep their outcome."""
    ex = find_extraction(request, extraction_id)
    runner: JobRunner = request.app.state.runner
    await runner.cancel(ex, ex.jobs)
    return extraction_status(ex)


@app.post(
    "/api/extractions/{extraction_id}/jobs/{job_id}/cancel",
    responses={409: {"model": JobStatus, "description": "the job had already finished"}},
)
async def cancel_job(
    extraction_id: str, job_id: str, request: Request, response: Response
) -> JobStatus:
    """Cancel one job; 409 (with the job as it is) when it had already finished."""
    ex = find_extraction(request, extraction_id)
    job = ex.job(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="no such job")
    runner: JobRunner = request.app.state.runner
    await runner.cancel(ex, [job])
    if job.state is not JobState.CANCELLED:
        response.status_code = 409
    return job_status(job)
