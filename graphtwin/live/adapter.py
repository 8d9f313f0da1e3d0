"""The port every source adapter (OPC UA, MQTT with Sparkplug B) implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from graphtwin.live.bindings import Binding, OpcUaSource
from graphtwin.live.ingest import Ingest
from graphtwin.values import Scalar


@dataclass
class AdapterStatus:
    name: str
    kind: str
    connected: bool
    bindings: int
    detail: str = ""
    counters: dict[str, int] = field(default_factory=dict)


class SourceAdapter(Protocol):
    """One connection to one source (an OPC UA endpoint, an MQTT broker)."""

    name: str

    async def start(self) -> None:
        """Begin connecting in the background; never raises for an unreachable source."""

    async def stop(self) -> None: ...

    async def update(self, bindings: Sequence[Binding]) -> None:
        """Run exactly these bindings from now on (add, change and drop as needed)."""

    async def write(self, binding: Binding, value: Scalar) -> None:
        """Write a value to the source.

        :raises SourceUnavailable: not connected, or the source refused the write.
        """

    def status(self) -> AdapterStatus: ...


# (group key, ingest) -> adapter; bootstrap supplies the concrete ones.
AdapterFactory = Callable[[tuple[str, str], Ingest], SourceAdapter]


def group_key(binding: Binding) -> tuple[str, str]:
    """Bindings that share one connection: per broker, or per OPC UA endpoint + security."""
    source = binding.source
    if isinstance(source, OpcUaSource):
        return ("opcua", source.group)
    return ("mqtt", source.broker)
