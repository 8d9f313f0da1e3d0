"""Worker processes for replications, so simulation never runs on the API's event loop.

Replications are CPU-bound pure functions of a picklable model, which is exactly
what a process pool is for. Workers come from a *forkserver*: the server process
has threads (uvicorn, MQTT, the history writer), and forking a threaded process
can deadlock a child on a lock some other thread held.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from graphtwin.errors import SourceUnavailable

log = logging.getLogger(__name__)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class WorkerPool:
    """A lazily started process pool that restarts itself if a worker dies."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            # Children start from a server that has imported the engine and the main
            # module once; otherwise every worker would import the main module
            # (and with it the whole server) again before its first replication.
            context.set_forkserver_preload(["__main__", "graphtwin.sim.engine"])
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._executor

    def start(self) -> None:
        """Start the workers now rather than on the first request (a server calls
        this at startup so the first answer does not wait for them)."""
        pool = self._pool()
        for _ in range(self.workers):
            pool.submit(abs, 0)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        executor = self._pool()
        try:
            return executor.submit(fn, *args)
        except BrokenProcessPool:
            self._restart(executor)
            return self._pool().submit(fn, *args)

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        # Only the pool that broke: another request may have started a new one already.
        if self._executor is not broken:
            return
        log.warning("simulation worker pool broke (a worker died); starting a new one")
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    async def gather(
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        on_done: Callable[[], None] | None = None,
        on_submit: Callable[[list[Future[Any]]], None] | None = None,
    ) -> list[Any]:
        """Run ``fn(*args)`` for every args tuple in the workers; results in order.

        ``on_done`` is called on the event loop after each call finishes (progress).
        Cancelling the awaiting task cancels the calls not yet started.

        :raises SourceUnavailable: a worker died.
        """
        executor = self._pool()
        futures = [self.submit(fn, *args) for args in calls]
        if on_submit is not None:
            on_submit(futures)
        waiting = [asyncio.wrap_future(f) for f in futures]
        if on_done is not None:

            def finished(waiter: asyncio.Future[Any]) -> None:
                # Cancelled calls (a cancelled job) are not progress.
                if not waiter.cancelled() and waiter.exception() is None:
                    on_done()

            for waiter in waiting:
                waiter.add_done_callback(finished)
        try:
            return list(await asyncio.gather(*waiting))
        except BrokenProcessPool:
            self._restart(executor)
            raise SourceUnavailable("a simulation worker process died; retry the request") from None
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Stop the workers now, replications in progress included (a server that
        stops does not wait for a simulation nobody will read)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        # The executor's own worker table (private, hence getattr): shutdown() alone
        # would leave running replications to finish first.
        workers = dict(getattr(executor, "_processes", None) or {})
        executor.shutdown(wait=False, cancel_futures=True)
        for process in workers.values():
            process.terminate()
