"""What one replication measured: plain, picklable numbers per machine, station and buffer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Machine states, in the order of the per-state seconds and shares everywhere.
STATES = ("producing", "idle", "starved", "blocked", "down", "setup", "maintenance", "offShift")
_PRODUCING, _IDLE, _STARVED, _BLOCKED, _DOWN, _SETUP, _MAINTENANCE, _OFF_SHIFT = range(len(STATES))


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted values (linear interpolation), None when empty."""
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class MachineRun:
    iri: str
    station: str
    seconds: tuple[float, ...]  # time in each state, in STATES order
    produced: int
    scrapped: int
    ideal_cycle: float
    energy_kwh: float


@dataclass(frozen=True, slots=True)
class StationRun:
    iri: str
    machines: int
    seconds: tuple[float, ...]  # summed over the station's machines
    produced: int
    scrapped: int
    ideal_seconds: float  # ideal cycle time x parts produced, summed over machines

    @staticmethod
    def of(iri: str, machines: Sequence[MachineRun]) -> StationRun:
        seconds = tuple(sum(m.seconds[i] for m in machines) for i in range(len(STATES)))
        return StationRun(
            iri=iri,
            machines=len(machines),
            seconds=seconds,
            produced=sum(m.produced for m in machines),
            scrapped=sum(m.scrapped for m in machines),
            ideal_seconds=sum(m.ideal_cycle * m.produced for m in machines),
        )

    @property
    def shares(self) -> tuple[float, ...]:
        total = sum(self.seconds)
        return tuple(s / total for s in self.seconds) if total else tuple(0.0 for _ in self.seconds)

    @property
    def _planned(self) -> float:
        # Planned production time: off-shift and planned maintenance are not
        # expected to produce (OEE's convention), everything else is.
        return sum(self.seconds) - self.seconds[_OFF_SHIFT] - self.seconds[_MAINTENANCE]

    @property
    def utilization(self) -> float:
        """Share of planned production time spent producing."""
        planned = self._planned
        return self.seconds[_PRODUCING] / planned if planned else 0.0

    @property
    def active_share(self) -> float:
        """Share of on-shift time the station was active (producing, down, in
        setup or maintenance), i.e. not waiting for parts or for room downstream."""
        on_shift = sum(self.seconds) - self.seconds[_OFF_SHIFT]
        s = self.seconds
        active = s[_PRODUCING] + s[_DOWN] + s[_SETUP] + s[_MAINTENANCE]
        return active / on_shift if on_shift else 0.0

    @property
    def availability(self) -> float:
        planned = self._planned
        return self._run_time / planned if planned else 0.0

    @property
    def _run_time(self) -> float:
        return self._planned - self.seconds[_DOWN] - self.seconds[_SETUP]

    @property
    def performance(self) -> float:
        run = self._run_time
        return min(1.0, self.ideal_seconds / run) if run > 0 else 0.0

    @property
    def quality(self) -> float:
        return (self.produced - self.scrapped) / self.produced if self.produced else 0.0

    @property
    def oee(self) -> float:
        return self.availability * self.performance * self.quality


@dataclass(frozen=True, slots=True)
class BufferRun:
    id: str
    mean_level: float
    max_level: int
    passed: int  # parts taken out during the horizon

    def mean_wait(self, duration: float) -> float | None:
        """Mean time a part spends in the buffer (Little's law: level / throughput)."""
        return self.mean_level * duration / self.passed if self.passed else None


@dataclass(frozen=True, slots=True)
class Replication:
    replication: int
    duration: float  # seconds observed (the horizon)
    good: int
    scrapped: int
    wip: float
    lead_time_mean: float | None
    lead_time_p50: float | None
    lead_time_p90: float | None
    lead_time_p95: float | None
    lead_time_max: float | None
    energy_kwh: float
    stations: tuple[StationRun, ...]
    buffers: tuple[BufferRun, ...]
    machines: tuple[MachineRun, ...]
    events: int
    wall_seconds: float

    @property
    def throughput(self) -> float:
        """Good units per hour."""
        return self.good * 3600.0 / self.duration

    @property
    def energy_per_unit(self) -> float | None:
        return self.energy_kwh / self.good if self.good else None

    @property
    def bottleneck(self) -> str:
        """The station with the largest active share (first in flow order on a tie)."""
        best = max(self.stations, key=lambda s: s.active_share)
        return best.iri
