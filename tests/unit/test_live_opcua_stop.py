"""Stopping the OPC UA session task when library code swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from graphtwin.live import opcua
from graphtwin.live.opcua import _cancel_until_done


async def test_a_swallowed_cancellation_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opcua, "STOP_RETRY_SECONDS", 0.05)
    swallowed = 0

    async def session() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed == 2:
                    raise
                # What asyncua's teardown helpers do: catch it and carry on.

    task = asyncio.create_task(session())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await _cancel_until_done(task, "test")
    assert task.cancelled()
    assert swallowed == 2


async def test_a_session_that_fails_while_stopping_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def session() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("teardown broke") from None

    task = asyncio.create_task(session())
    await asyncio.sleep(0)
    await _cancel_until_done(task, "OPC UA test")
    assert "teardown broke" in caplog.text
