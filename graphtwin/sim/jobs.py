"""Long simulations as jobs: an id to poll, progress, the result, and cancel.

Jobs live in memory (a restart forgets them; the inputs are small, so a client
starts a lost job again). The registry bounds how many run at once and how many
finished ones it keeps.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphtwin.errors import Conflict, NotFound, TwinError
from graphtwin.values import utcnow

log = logging.getLogger(__name__)

MAX_ACTIVE_JOBS = 4
KEEP_FINISHED = 100


class JobStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class Job:
    id: str
    kind: str  # "simulation", "comparison" or "sweep"
    line: str
    site: str | None
    total: int  # replications to run
    completed: int = 0
    status: JobStatus = JobStatus.QUEUED
    created: datetime = field(default_factory=utcnow)
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    error_code: str | None = None
    result: Any = None
    futures: list[Future[Any]] = field(default_factory=list, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def progress(self) -> float:
        return self.completed / self.total if self.total else 1.0

    def tick(self) -> None:
        self.completed = min(self.total, self.completed + 1)

    def track(self, futures: list[Future[Any]]) -> None:
        self.futures.extend(futures)


class JobRegistry:
    def __init__(self, *, max_active: int = MAX_ACTIVE_JOBS, keep: int = KEEP_FINISHED) -> None:
        self._jobs: dict[str, Job] = {}
        self.max_active = max_active
        self.keep = keep

    def start(
        self,
        kind: str,
        line: str,
        site: str | None,
        total: int,
        work: Callable[[Job], Coroutine[Any, Any, Any]],
    ) -> Job:
        """Register a job and run ``work(job)`` in the background; its return value
        becomes the result.

        :raises Conflict: ``max_active`` jobs are queued or running already.
        """
        active = sum(1 for j in self._jobs.values() if not j.status.finished)
        if active >= self.max_active:
            raise Conflict(
                f"{active} simulation jobs are running already (at most {self.max_active}); "
                "wait for one to finish or cancel one"
            )
        job = Job(id=str(uuid.uuid4()), kind=kind, line=line, site=site, total=total)
        self._jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job, work))
        self._forget_old()
        return job

    async def _run(self, job: Job, work: Callable[[Job], Coroutine[Any, Any, Any]]) -> None:
        job.status, job.started = JobStatus.RUNNING, utcnow()
        try:
            job.result = await work(job)
            job.status = JobStatus.SUCCEEDED
        except asyncio.CancelledError:
            job.status = JobStatus.CANCELLED
        except TwinError as error:
            job.status, job.error, job.error_code = JobStatus.FAILED, error.message, error.code
        except Exception:
            log.exception("simulation job %s failed", job.id)
            job.status, job.error, job.error_code = JobStatus.FAILED, "internal error", "INTERNAL"
        finally:
            job.finished = utcnow()
            job.futures.clear()

    def get(self, job_id: str) -> Job:
        """:raises NotFound: no such job (never started, or forgotten)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no simulation job {job_id}")
        return job

    def all(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job: replications not started are dropped, running ones finish
        in their worker and are ignored. Cancelling a finished job changes nothing."""
        job = self.get(job_id)
        if job.task is not None and not job.status.finished:
            for future in job.futures:
                future.cancel()
            job.task.cancel()
            try:
                await job.task
            except asyncio.CancelledError:
                # Our own cancel() of the job's task, or the caller being cancelled.
                if not job.task.cancelled():
                    raise
            if not job.status.finished:
                # Cancelled before its task ever ran: _run never saw the cancel.
                job.status, job.finished = JobStatus.CANCELLED, utcnow()
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self.all() if j.status.finished]
        for job in finished[self.keep :]:
            del self._jobs[job.id]

    async def close(self) -> None:
        for job in list(self._jobs.values()):
            if not job.status.finished:
                await self.cancel(job.id)
