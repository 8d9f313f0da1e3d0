"""serve --demo's live side: the OPC UA simulator, the demo bindings, and no broker.

Runs ``bootstrap.running(demo=True, live=True)`` as ``graphtwin serve --demo`` does,
on its own embedded engine, with the OPC UA server on a free port and the MQTT URL
pointing at a port where nothing listens: the server must still come up, say so,
and move the Stuttgart machines' values.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from graphtwin.bootstrap import running
from graphtwin.config import load_settings
from graphtwin.semantics.vocab import GT
from graphtwin.values import Quality
from tests.support.mosquitto import free_port
from tests.support.waiting import wait_for

PRESS_1A = "https://acme.example/sites/stuttgart/lines/press-1/stations/op10/press-1a"


async def test_demo_serves_opcua_values_without_a_broker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings().with_overrides(
        data_dir=tmp_path / "data",
        demo_opcua_port=0,
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
        flush_interval=0.2,
    )
    caplog.set_level(logging.WARNING)
    async with running(settings, demo=True, live=True, supervise=False) as runtime:
        live = runtime.services.live
        assert live is not None
        assert len(live.bindings) == 24 * 9 + 22 * 4
        key = (PRESS_1A, str(GT.temperature))
        await wait_for(lambda: live.value(key) is not None, timeout=20, what="a Stuttgart value")
        sample = live.value(key)
        assert sample is not None and sample.quality is Quality.GOOD
        assert isinstance(sample.value, float)
        kinds = {s.kind: s.connected for s in live.status()}
        assert kinds == {"opcua": True, "mqtt": False}
        assert "no MQTT broker" in caplog.text
        await live.flush()
        view = (await runtime.services.twins.queries.views([PRESS_1A]))[0]
        assert view is not None
        assert view.values[str(GT.temperature)][0].native == pytest.approx(sample.value, abs=5)
