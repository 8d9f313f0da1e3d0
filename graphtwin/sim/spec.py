"""The line model as plain data: what a simulation run needs and nothing else.

Everything here is a frozen dataclass of numbers and strings, so a model pickles to a
worker process cheaply and two runs of the same model and seed are identical. Times
are seconds, power is kW, rates are per hour only at the edges (inputs and answers).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

from graphtwin.errors import BadInput

#: A zero-argument function drawing one duration.
SampleFn = Callable[[], float]


class Family(Enum):
    """Distribution families a processing, failure, repair or setup time may follow."""

    DETERMINISTIC = "deterministic"
    EXPONENTIAL = "exponential"
    NORMAL = "normal"
    LOGNORMAL = "lognormal"
    TRIANGULAR = "triangular"
    EMPIRICAL = "empirical"


@dataclass(frozen=True, slots=True)
class Distribution:
    """A non-negative random duration (seconds).

    ``mean`` is always the mean (for a triangular distribution it is derived from
    ``low``, ``mode`` and ``high``; for an empirical one from ``samples``). ``sd`` is
    the standard deviation of normal and lognormal times. Normal draws below zero are
    truncated at zero (a time cannot be negative).
    """

    family: Family
    mean: float
    sd: float = 0.0
    low: float = 0.0
    mode: float = 0.0
    high: float = 0.0
    samples: tuple[float, ...] = ()

    @staticmethod
    def fixed(seconds: float) -> Distribution:
        return Distribution(Family.DETERMINISTIC, seconds)

    @staticmethod
    def exponential(mean: float) -> Distribution:
        return Distribution(Family.EXPONENTIAL, mean)

    @staticmethod
    def normal(mean: float, sd: float) -> Distribution:
        return Distribution(Family.NORMAL, mean, sd)

    @staticmethod
    def lognormal(mean: float, sd: float) -> Distribution:
        return Distribution(Family.LOGNORMAL, mean, sd)

    @staticmethod
    def triangular(low: float, mode: float, high: float) -> Distribution:
        return Distribution(
            Family.TRIANGULAR, (low + mode + high) / 3, low=low, mode=mode, high=high
        )

    @staticmethod
    def empirical(samples: tuple[float, ...]) -> Distribution:
        mean = sum(samples) / len(samples) if samples else 0.0
        return Distribution(Family.EMPIRICAL, mean, samples=tuple(samples))

    def check(self, what: str) -> None:
        """:raises BadInput: negative, zero-mean or inconsistent parameters; the
        message starts with ``what`` (e.g. "station OP10, machine A: processing time")."""
        numbers = (self.mean, self.sd, self.low, self.mode, self.high, *self.samples)
        if any(not math.isfinite(x) for x in numbers):
            raise BadInput(f"{what}: parameters must be finite numbers")
        if any(x < 0 for x in numbers):
            raise BadInput(f"{what}: times cannot be negative")
        if self.family is Family.EMPIRICAL and not self.samples:
            raise BadInput(f"{what}: an empirical distribution needs at least one sample")
        if self.family is Family.TRIANGULAR and not self.low <= self.mode <= self.high:
            raise BadInput(f"{what}: a triangular distribution needs min <= mode <= max")
        if self.family is Family.TRIANGULAR and self.low == self.high:
            raise BadInput(f"{what}: a triangular distribution needs min < max")
        if self.mean <= 0:
            raise BadInput(f"{what}: the mean must be greater than zero")
        if self.family in (Family.NORMAL, Family.LOGNORMAL) and self.sd <= 0:
            raise BadInput(
                f"{what}: a {self.family.value} distribution needs a standard deviation > 0"
            )

    def scaled(self, factor: float) -> Distribution:
        """The same shape with every time multiplied by ``factor``."""
        return Distribution(
            self.family,
            self.mean * factor,
            self.sd * factor,
            self.low * factor,
            self.mode * factor,
            self.high * factor,
            tuple(x * factor for x in self.samples),
        )

    def sampler(self, rng: random.Random) -> SampleFn:
        """A zero-argument function drawing from this distribution with ``rng``.

        Built once per stream, so the hot loop of the engine pays one call per draw.
        """
        mean = self.mean
        match self.family:
            case Family.DETERMINISTIC:
                return lambda: mean
            case Family.EXPONENTIAL:
                rate = 1.0 / mean
                expo = rng.expovariate
                return lambda: expo(rate)
            case Family.NORMAL:
                sd = self.sd
                gauss = rng.gauss
                return lambda: max(0.0, gauss(mean, sd))
            case Family.LOGNORMAL:
                # Parameters of the underlying normal from the mean and sd of the time.
                sigma2 = math.log(1.0 + (self.sd / mean) ** 2)
                mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
                lognorm = rng.lognormvariate
                return lambda: lognorm(mu, sigma)
            case Family.TRIANGULAR:
                low, high, mode = self.low, self.high, self.mode
                tri = rng.triangular
                return lambda: tri(low, high, mode)
            case Family.EMPIRICAL:
                samples = self.samples
                choice = rng.choice
                return lambda: choice(samples)
        raise AssertionError(self.family)  # pragma: no cover

    def describe(self) -> str:
        match self.family:
            case Family.DETERMINISTIC | Family.EXPONENTIAL:
                return f"{self.family.value}(mean={self.mean:g}s)"
            case Family.NORMAL | Family.LOGNORMAL:
                return f"{self.family.value}(mean={self.mean:g}s, sd={self.sd:g}s)"
            case Family.TRIANGULAR:
                return f"triangular(min={self.low:g}s, mode={self.mode:g}s, max={self.high:g}s)"
            case Family.EMPIRICAL:
                return f"empirical({len(self.samples)} samples, mean={self.mean:g}s)"
        raise AssertionError(self.family)  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Power:
    """Electric power (kW) drawn in each state; starved counts as idle."""

    producing: float = 0.0
    idle: float = 0.0
    blocked: float = 0.0
    down: float = 0.0
    setup: float = 0.0


@dataclass(frozen=True, slots=True)
class MachineSpec:
    iri: str
    label: str
    processing: Distribution
    # The OEE performance reference; the processing mean when the graph has none.
    ideal_cycle: float
    # Operating time between failures and time to repair; both or neither.
    failure: Distribution | None = None
    repair: Distribution | None = None
    # Share of parts that are good; the rest is scrapped at this machine.
    yield_: float = 1.0
    # Time to change over to another product (None: no changeover).
    setup: Distribution | None = None
    power: Power = field(default_factory=Power)
    # Planned maintenance: every ``interval`` seconds of operation, ``duration`` down.
    maintenance_interval: float | None = None
    maintenance_duration: float | None = None
    # Unavailable windows [start, end) in seconds from the start of the run (scenarios).
    down_windows: tuple[tuple[float, float], ...] = ()
    # The machine's own working time (set on it or its station); None: the line's.
    calendar: ShiftCalendar | None = None


@dataclass(frozen=True, slots=True)
class StationSpec:
    iri: str
    label: str
    machines: tuple[MachineSpec, ...]
    # Buffer ids the station takes parts from / puts parts into. No input: a source
    # station (raw material or arrivals); no output: a sink (finished goods).
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BufferSpec:
    id: str  # the buffer's IRI, or "<from> -> <to>" for a direct hand-over
    label: str
    capacity: int
    # True for a hand-over between directly connected stations (no buffer asset).
    implicit: bool = False


@dataclass(frozen=True, slots=True)
class ArrivalSpec:
    """How work reaches the source stations; ``interarrival`` None: unlimited raw material."""

    interarrival: Distribution | None = None
    products: int = 1
    batch_size: int = 0  # parts per product run; 0 with one product


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """Weekly working windows [start, end) in seconds from Monday 00:00; the run starts
    on a Monday at 00:00. An empty calendar means the line works around the clock."""

    windows: tuple[tuple[float, float], ...] = ()
    text: str = "24/7"

    @property
    def always(self) -> bool:
        return not self.windows


WEEK = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one parameter value came from; the answer lists these."""

    asset: str
    parameter: str
    value: str
    source: str  # "graph", "history", "default" or "scenario"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LineSpec:
    iri: str
    label: str
    # In material-flow order (a topological order of the feeds graph).
    stations: tuple[StationSpec, ...]
    buffers: tuple[BufferSpec, ...]
    arrivals: ArrivalSpec = field(default_factory=ArrivalSpec)
    calendar: ShiftCalendar = field(default_factory=ShiftCalendar)
    origins: tuple[Origin, ...] = ()

    def station(self, iri: str) -> StationSpec:
        for station in self.stations:
            if station.iri == iri:
                return station
        raise BadInput(f"{iri} is not a station of line {self.iri}")

    def buffer(self, id_: str) -> BufferSpec:
        for buffer in self.buffers:
            if buffer.id == id_:
                return buffer
        raise BadInput(f"{id_} is not a buffer of line {self.iri}")

    def with_origins(self, *origins: Origin) -> LineSpec:
        return replace(self, origins=(*self.origins, *origins))
