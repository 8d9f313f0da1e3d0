"""Live values over the stored model: a bound Property reads from the live cache.

Which (asset, property) key feeds a Property is the AAS read model's business: a
read model that knows it offers ``live_key(submodel_id, id_short_path)``. The
REST API only asks, and overlays the cache's latest value when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from graphtwin.values import PropertyKey, Sample, Scalar


class LiveKeys(Protocol):
    """What an AAS read model offers when some Properties are fed by bindings."""

    def live_key(self, submodel_id: str, id_short_path: str) -> PropertyKey | None: ...


class LiveValues(Protocol):
    """The latest value per bound property (``LiveRuntime`` is one)."""

    def value(self, key: PropertyKey) -> Sample | None: ...


@dataclass(frozen=True)
class LiveOverlay:
    keys: LiveKeys
    values: LiveValues

    def value(self, submodel_id: str, id_short_path: str) -> Scalar | None:
        """The live value of the Property at that path, or None (not bound, no value yet)."""
        key = self.keys.live_key(submodel_id, id_short_path)
        if key is None:
            return None
        sample = self.values.value(key)
        return None if sample is None else sample.value


def live_overlay(read_model: object, values: LiveValues | None) -> LiveOverlay | None:
    """The overlay for a read model, or None when it has no bindings or nothing is live."""
    if values is None or not callable(getattr(read_model, "live_key", None)):
        return None
    return LiveOverlay(cast(LiveKeys, read_model), values)
