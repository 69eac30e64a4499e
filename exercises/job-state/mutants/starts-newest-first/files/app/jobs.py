"""Extraction jobs: one job per paper, their states, and the runner that drives them.

A job is in exactly one state. `Extraction.move` is the only way to change it: it
checks the transition against `ALLOWED` and updates the per-state counts in the
same step, so counts always add up and terminal states stay final.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from . import extraction
from .config import Settings
from .llm import LLMClient, ProviderError
from .models import Paper

log = logging.getLogger(__name__)


class JobState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})
ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.ACTIVE, JobState.CANCELLED}),
    JobState.ACTIVE: frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(eq=False)
class Job:
    paper: Paper
    id: str = field(default_factory=_new_id)
    state: JobState = JobState.PENDING
    attempts: int = 0
    result: str | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass(eq=False)
class Extraction:
    fields: list[str]
    jobs: list[Job]
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    counts: Counter[JobState] = field(init=False)
    _by_id: dict[str, Job] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.counts = Counter(job.state for job in self.jobs)
        self._by_id = {job.id: job for job in self.jobs}

    def job(self, job_id: str) -> Job | None:
        return self._by_id.get(job_id)

    def move(
        self, job: Job, to: JobState, *, result: str | None = None, error: str | None = None
    ) -> bool:
        """Move `job` to state `to` if that transition is allowed; False when it is not.

        No await in here: under asyncio nothing else runs between the check and the
        writes, so a cancel and a completion racing each other cannot both win.
        """
        if to not in ALLOWED[job.state]:
            return False
        self.counts[job.state] -= 1
        self.counts[to] += 1
        job.state = to
        if to is JobState.COMPLETED:
            job.result = result
        if to is JobState.FAILED:
            job.error = error
        return True

    @property
    def finished(self) -> bool:
        return all(job.state in TERMINAL for job in self.jobs)


class JobRunner:
    """Owns every extraction and runs their jobs, at most `max_active` at a time."""

    def __init__(self, settings: Settings, llm: LLMClient) -> None:
        self._settings = settings
        self._llm = llm
        # One semaphore for the whole app: the cap protects the provider (and our rate
        # limit with it), which all extractions share.
        self._slots = asyncio.Semaphore(settings.max_active)
        self._extractions: dict[str, Extraction] = {}
        self._rng = random.Random()  # noqa: S311  # backoff jitter, not security

    def create(self, papers: list[Paper], fields: list[str]) -> Extraction:
        ex = Extraction(fields=fields, jobs=[Job(paper=p) for p in papers])
        self._extractions[ex.id] = ex
        for job in reversed(ex.jobs):
            job.task = asyncio.create_task(self._run(ex, job), name=f"job-{job.id}")
        return ex

    def get(self, extraction_id: str) -> Extraction | None:
        return self._extractions.get(extraction_id)

    async def cancel(self, ex: Extraction, jobs: list[Job]) -> None:
        """Cancel the jobs that are not finished yet and wait until they have stopped.

        The state changes first, so the response already says `cancelled`; waiting for
        the tasks means their upstream requests are closed and their slots are free
        before we answer.
        """
        stopping = []
        for job in jobs:
            if ex.move(job, JobState.CANCELLED) and job.task is not None and not job.task.done():
                job.task.cancel()
                stopping.append(job.task)
        if stopping:
            await asyncio.wait(stopping, timeout=5)

    async def close(self) -> None:
        for ex in self._extractions.values():
            await self.cancel(ex, ex.jobs)

    async def _run(self, ex: Extraction, job: Job) -> None:
        async with self._slots:
            if not ex.move(job, JobState.ACTIVE):
                return  # cancelled while it waited for a slot
            timeout = self._settings.job_timeout_seconds
            try:
                async with asyncio.timeout(timeout):
                    text = await self._attempts(ex, job)
            except TimeoutError:
                ex.move(job, JobState.FAILED, error=f"timed out after {timeout:g} s")
            except ProviderError as exc:
                ex.move(job, JobState.FAILED, error=f"{exc} after {job.attempts} attempt(s)")
            except Exception:
                # A bug must not leave the job active forever.
                log.exception("job %s crashed", job.id)
                ex.move(job, JobState.FAILED, error="internal error")
            else:
                ex.move(job, JobState.COMPLETED, result=text)

    async def _attempts(self, ex: Extraction, job: Job) -> str:
        messages = extraction.build_messages(job.paper, ex.fields)
        while True:
            job.attempts += 1
            try:
                return await self._llm.complete(messages)
            except ProviderError as exc:
                if not exc.retryable or job.attempts >= self._settings.max_attempts:
                    raise
                await asyncio.sleep(self._backoff(job.attempts, exc.retry_after))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter on top, never shorter than Retry-After."""
        floor = self._settings.backoff_base_seconds * 2 ** (attempt - 1)
        delay = floor * (1 + 0.5 * self._rng.random())
        return max(delay, retry_after or 0.0)
