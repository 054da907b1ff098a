"""Load held, not stalled: admission control, request timeouts and 503 + Retry-After.

Why: the sync endpoints run in AnyIO's thread pool while each request holds one pooled
connection across several thread hops (dependencies, handler, commit). With more threads than
connections, threads block on the pool while the requests holding connections wait for a thread:
80 concurrent reads stalled ~30 s and a quarter failed. Here at most `max_requests_in_flight`
requests run at once (= the API pool = the thread pool), a bounded number wait a bounded time for
a slot, and the rest are told at once to come back (`503 OVERLOADED` with `Retry-After`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eid.core.limits import send_error
from eid.core.settings import Settings

log = logging.getLogger(__name__)
# Probes and the scrape must answer while the API is saturated.
UNMETERED_PATHS = ("/healthz", "/readyz", "/metrics")
RETRY_AFTER = "2"
BUSY = "the service is busy; try again shortly"


class Admission:
    """Counts admitted and waiting requests; the observability module reads the counters.

    A waiter holds its own event, created in the running loop (no primitive bound to the loop of
    whoever came first: tests run apps under several loops), and a finishing request hands its
    slot straight to the oldest waiter."""

    def __init__(self, *, in_flight: int, waiting: int, wait_seconds: float) -> None:
        self.capacity = in_flight
        self.max_waiting = waiting
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self.shed = 0
        self._waiters: deque[anyio.Event] = deque()
        # Called after every change of the counts: with several server processes the metrics
        # copy them into the files the scrape sums (`eid.core.observability.SharedEdgeMetrics`).
        self.on_change: Callable[[], None] | None = None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def _acquire(self) -> bool:
        if self.in_flight < self.capacity and not self._waiters:
            self.in_flight += 1
            self._changed()
            return True
        if len(self._waiters) >= self.max_waiting:
            return False
        handed = anyio.Event()
        self._waiters.append(handed)
        self._changed()
        try:
            with anyio.move_on_after(self.wait_seconds):
                await handed.wait()
        except BaseException:  # the client went away while waiting: give back what it holds
            if handed.is_set():
                self._release()
            else:
                self._waiters.remove(handed)
                self._changed()
            raise
        if handed.is_set():
            return True  # the slot was handed over (counted by the one who released it)
        self._waiters.remove(handed)
        self._changed()
        return False

    def _release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # in_flight stays: the slot changes hands
        else:
            self.in_flight -= 1
        self._changed()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """Yields True once admitted, False when the request must be shed."""
        admitted = await self._acquire()
        if not admitted:
            self.shed += 1
            self._changed()
            yield False
            return
        try:
            yield True
        finally:
            self._release()


class Backpressure:
    def __init__(self, app: ASGIApp, *, admission: Admission, timeout_seconds: float) -> None:
        self.app = app
        self.admission = admission
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNMETERED_PATHS):
            await self.app(scope, receive, send)
            return
        async with self.admission.slot() as admitted:
            if not admitted:
                await overloaded(send)
                return
            await self._answer_in_time(scope, receive, send)

    async def _answer_in_time(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The client hears within the timeout: if the route has not started its answer by
        then, it gets 503 REQUEST_TIMEOUT while the route (a sync handler's thread cannot be
        interrupted) finishes unheard. The slot stays taken until it does, so the bound on
        threads and connections holds."""
        started = anyio.Event()
        finished = anyio.Event()
        timed_out = False

        async def send_unless_late(message: Message) -> None:
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        failure: Exception | None = None

        async def run() -> None:
            nonlocal failure
            try:
                await self.app(scope, receive, send_unless_late)
            except Exception as exc:  # raised below, outside the task group (no group wrapper)
                if timed_out:
                    log.exception("request failed after its timeout answer")
                else:
                    failure = exc
            finally:
                finished.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            with anyio.move_on_after(self.timeout_seconds):
                async with anyio.create_task_group() as first:

                    async def wait_for(event: anyio.Event) -> None:
                        await event.wait()
                        first.cancel_scope.cancel()

                    first.start_soon(wait_for, started)
                    first.start_soon(wait_for, finished)
            if not started.is_set() and not finished.is_set():
                timed_out = True
                await send_error(
                    send,
                    503,
                    "REQUEST_TIMEOUT",
                    f"no answer within {self.timeout_seconds:g} s; try again",
                    headers={"Retry-After": RETRY_AFTER},
                )
        if failure is not None:
            raise failure


async def overloaded(send: Send) -> None:
    await send_error(
        send,
        503,
        "OVERLOADED",
        BUSY,
        headers={"Retry-After": RETRY_AFTER},
    )


def admission_for(settings: Settings) -> Admission:
    return Admission(
        in_flight=settings.max_requests_in_flight or settings.db_pool_size,
        waiting=settings.max_requests_waiting,
        wait_seconds=settings.max_queue_wait_seconds,
    )


def with_thread_tokens(lifespan: Any, tokens: int) -> Callable[[FastAPI], Any]:
    """Wrap the app's lifespan: size AnyIO's thread pool (default 40) to the admitted requests."""

    @asynccontextmanager
    async def sized(app: FastAPI) -> AsyncIterator[Any]:
        # A few more than the in-flight bound: unmetered probes and the scrape also use threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = tokens + 4
        if lifespan is None:
            yield None
        else:
            async with lifespan(app) as state:
                yield state

    return sized


def install_backpressure(app: FastAPI, admission: Admission, settings: Settings) -> None:
    app.add_middleware(
        Backpressure, admission=admission, timeout_seconds=settings.request_timeout_seconds
    )

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, __: PoolTimeout) -> JSONResponse:
        # A connection did not come within the pool timeout: shed, as for a full queue.
        admission.shed += 1
        body = {"error": {"code": "OVERLOADED", "message": BUSY, "details": {}}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER})
