"""One replication of a line model in SimPy.

Each machine is a SimPy process; buffers are stores with a capacity, so a machine
whose finished part does not fit downstream waits holding it (blocking after
service) and a machine with an empty input waits (starved). Failures count
operating time, not wall time: a machine only wears while it produces, and a
failure in the middle of a part resumes the part after the repair.

The loop is written for speed (it is what the events-per-second benchmark
measures): state accounting is three attribute updates per transition and buffer
statistics are kept inside the store's own put and get.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from graphtwin.errors import BadInput
from graphtwin.sim.results import (
    STATES,
    BufferRun,
    MachineRun,
    Replication,
    StationRun,
    percentile,
)
from graphtwin.sim.spec import WEEK, LineSpec, MachineSpec, SampleFn, StationSpec

# Machine states, as indexes into results.STATES.
PRODUCING, IDLE, STARVED, BLOCKED, DOWN, SETUP, MAINTENANCE, OFF_SHIFT = range(len(STATES))
INF = math.inf
#: Released orders that may wait for the first station before a run is called off:
#: a line that far behind its demand has answered the question, and each waiting
#: order costs memory.
MAX_WAITING_ORDERS = 1_000_000
#: Time slices a run is cut into to check its event cap between them.
_SLICES = 256

Process = Generator[simpy.Event, Any, None]


class Buffer(simpy.Store):
    """A FIFO store that keeps its time-weighted level, peak and throughput."""

    def __init__(self, env: simpy.Environment, capacity: float) -> None:
        super().__init__(env, capacity)
        # A deque: the arrival queue of an overloaded line grows long, and
        # list.pop(0) would make every take linear in its length.
        self.items: deque[Part] = deque()  # type: ignore[assignment]
        self.area = 0.0
        self.last = 0.0
        self.peak = 0
        self.passed = 0
        # Machines feeding or taking from several buffers wait for any of them:
        # woken when a part arrives here, or when room frees up here.
        self.item_waiters: list[simpy.Event] = []
        self.room_waiters: list[simpy.Event] = []

    def _do_put(self, event: simpy.resources.store.StorePut) -> bool | None:
        items = self.items
        level = len(items)
        if level < self._capacity:
            now = self._env.now
            self.area += level * (now - self.last)
            self.last = now
            items.append(event.item)
            if level >= self.peak:
                self.peak = level + 1
            event.succeed()
            if self.item_waiters:
                _wake(self.item_waiters)
        return None

    def _do_get(self, event: simpy.resources.store.StoreGet) -> bool | None:
        items = self.items
        if items:
            now = self._env.now
            self.area += len(items) * (now - self.last)
            self.last = now
            self.passed += 1
            event.succeed(items.popleft())
            if self.room_waiters:
                _wake(self.room_waiters)
        return None

    @property
    def room(self) -> float:
        """Free places, not counting those promised to machines already waiting to put."""
        return self._capacity - len(self.items) - len(self.put_queue)

    def restart(self, now: float) -> None:
        """Forget the statistics so far (end of the warm-up)."""
        self.area, self.last, self.peak, self.passed = 0.0, now, len(self.items), 0

    def mean_level(self, now: float, duration: float) -> float:
        return (self.area + len(self.items) * (now - self.last)) / duration


def _wake(waiters: list[simpy.Event]) -> None:
    for waiter in waiters:
        # One waiter may sit in several buffers' lists; the first wakes it.
        if not waiter.triggered:
            waiter.succeed()
    waiters.clear()


class Part:
    __slots__ = ("born", "product")

    def __init__(self, born: float, product: int) -> None:
        self.born = born
        self.product = product


@dataclass(slots=True)
class _Machine:
    spec: MachineSpec
    station: StationSpec
    totals: list[float]
    state: int = IDLE
    since: float = 0.0
    produced: int = 0
    scrapped: int = 0


def _windows(spec: MachineSpec, line: LineSpec, end: float) -> list[tuple[float, float, int]]:
    """Times the machine may not start a part, sorted: off-shift and scenario downtime."""
    windows = [(start, stop, DOWN) for start, stop in spec.down_windows if stop > 0]
    calendar = spec.calendar if spec.calendar is not None else line.calendar
    if not calendar.always:
        week = 0.0
        while week < end:
            cursor = week
            for start, stop in calendar.windows:
                if week + start > cursor:
                    windows.append((cursor, week + start, OFF_SHIFT))
                cursor = week + stop
            if cursor < week + WEEK:
                windows.append((cursor, week + WEEK, OFF_SHIFT))
            week += WEEK
    windows.sort()
    return windows


class LineRun:
    """The processes of one replication; ``run`` returns its :class:`Replication`."""

    def __init__(
        self,
        line: LineSpec,
        *,
        horizon: float,
        warmup: float,
        seed: int,
        replication: int,
        max_events: float = INF,
    ) -> None:
        self.line = line
        self.horizon = horizon
        self.warmup = warmup
        self.seed = seed
        self.replication = replication
        self.max_events = max_events
        self.env = env = simpy.Environment()
        self.buffers = {b.id: Buffer(env, b.capacity) for b in line.buffers}
        interarrival = line.arrivals.interarrival
        self.orders = Buffer(env, INF) if interarrival is not None else None
        self.machines: list[_Machine] = []
        self.wip = 0
        self.wip_area = 0.0
        self.wip_last = 0.0
        self.released = 0
        self.good = 0
        self.scrapped = 0
        self.lead_times: list[float] = []
        end = warmup + horizon
        if interarrival is not None:
            env.process(self._arrivals(interarrival.sampler(self._rng("arrivals"))))
        for station in line.stations:
            for spec in station.machines:
                machine = _Machine(spec, station, [0.0] * len(STATES))
                self.machines.append(machine)
                env.process(self._machine(machine, _windows(spec, line, end)))
        if warmup > 0:
            env.process(self._end_of_warmup())

    def _rng(self, stream: str) -> random.Random:
        # One stream per purpose and machine, keyed by name (str seeds hash with
        # SHA-512, stable across processes): scenarios that add or change one
        # machine leave every other stream as it was (common random numbers).
        return random.Random(f"{self.seed}/{self.replication}/{stream}")

    # -- work in progress ---------------------------------------------------------
    def _release(self, now: float) -> Part:
        self.wip_area += self.wip * (now - self.wip_last)
        self.wip_last = now
        self.wip += 1
        arrivals = self.line.arrivals
        product = 0
        if arrivals.products > 1:
            product = (self.released // max(arrivals.batch_size, 1)) % arrivals.products
        self.released += 1
        return Part(now, product)

    def _leave(self, now: float) -> None:
        self.wip_area += self.wip * (now - self.wip_last)
        self.wip_last = now
        self.wip -= 1

    # -- processes ------------------------------------------------------------------
    def _arrivals(self, interarrival: SampleFn) -> Process:
        env, orders = self.env, self.orders
        assert orders is not None
        timeout = env.timeout
        while True:
            yield timeout(interarrival())
            if len(orders.items) >= MAX_WAITING_ORDERS:
                raise BadInput(
                    f"line {self.line.iri} falls hopelessly behind its demand: "
                    f"{MAX_WAITING_ORDERS:,} released orders are waiting for the first "
                    f"station after {env.now / 3600:,.1f} h; lower the demand or shorten "
                    "the horizon"
                )
            orders.put(self._release(env.now))

    def _end_of_warmup(self) -> Process:
        yield self.env.timeout(self.warmup)
        now = self.env.now
        for machine in self.machines:
            machine.totals = [0.0] * len(STATES)
            machine.since = now
            machine.produced = machine.scrapped = 0
        for buffer in self._all_buffers():
            buffer.restart(now)
        self.wip_area, self.wip_last = 0.0, now
        self.good = self.scrapped = 0
        self.lead_times = []

    def _all_buffers(self) -> list[Buffer]:
        return [*self.buffers.values(), *([self.orders] if self.orders is not None else [])]

    # One generator on purpose: splitting it into sub-generators costs a generator
    # per part, and this loop is the simulator's hot path.
    def _machine(self, m: _Machine, windows: list[tuple[float, float, int]]) -> Process:  # noqa: PLR0915
        env = self.env
        timeout = env.timeout
        spec, station = m.spec, m.station
        rng_key = spec.iri
        process = spec.processing.sampler(self._rng(f"{rng_key}/processing"))
        failure = repair = None
        if spec.failure is not None and spec.repair is not None:
            failure = spec.failure.sampler(self._rng(f"{rng_key}/failure"))
            repair = spec.repair.sampler(self._rng(f"{rng_key}/repair"))
        setup = spec.setup.sampler(self._rng(f"{rng_key}/setup")) if spec.setup else None
        yield_ = spec.yield_
        scrap_draw = self._rng(f"{rng_key}/scrap").random
        interval = spec.maintenance_interval or INF
        maintenance = spec.maintenance_duration or 0.0
        ttf = failure() if failure is not None else INF
        ttm = interval
        inputs = [self.buffers[b] for b in station.inputs]
        if not inputs and self.orders is not None:
            inputs = [self.orders]
        waiting = IDLE if inputs and inputs[0] is self.orders else STARVED
        outputs = [self.buffers[b] for b in station.outputs]
        # The common case, one input and one output, without the general paths.
        single = inputs[0] if len(inputs) == 1 and not windows else None
        output = outputs[0] if len(outputs) == 1 else None
        window = 0
        turn = 0  # which input a merge takes from first
        last_product = -1
        while True:
            now = env.now
            # Planned unavailability: finish the current part, start no new one.
            if windows:
                while window < len(windows) and windows[window][1] <= now:
                    window += 1
                if window < len(windows) and windows[window][0] <= now:
                    _, stop, state = windows[window]
                    m.totals[m.state] += now - m.since
                    m.state, m.since = state, now
                    yield timeout(stop - now)
                    continue
            if not inputs:
                part = self._release(now)
            else:
                # Only a take that will wait changes the state: in a flowing line a
                # part is there, and the take costs no time.
                if single is None or not single.items:
                    m.totals[m.state] += now - m.since
                    m.state, m.since = waiting, now
                if single is not None:
                    part = yield single.get()
                else:
                    got = yield from self._take(inputs, turn, windows, window)
                    if got is None:
                        continue  # a window began while waiting
                    part, turn = got
            now = env.now
            if setup is not None and part.product != last_product:
                if last_product >= 0:
                    m.totals[m.state] += now - m.since
                    m.state, m.since = SETUP, now
                    yield timeout(setup())
                    now = env.now
                last_product = part.product
            if m.state != PRODUCING:
                m.totals[m.state] += now - m.since
                m.state, m.since = PRODUCING, now
            work = process()
            while ttf <= work or ttm <= work:
                if ttf <= ttm:
                    yield timeout(ttf)
                    work -= ttf
                    ttm -= ttf
                    stop_state, stop_time = DOWN, repair() if repair is not None else 0.0
                    ttf = failure() if failure is not None else INF
                else:
                    yield timeout(ttm)
                    work -= ttm
                    ttf -= ttm
                    stop_state, stop_time = MAINTENANCE, maintenance
                    ttm = interval
                now = env.now
                m.totals[PRODUCING] += now - m.since
                m.state, m.since = stop_state, now
                yield timeout(stop_time)
                now = env.now
                m.totals[stop_state] += now - m.since
                m.state, m.since = PRODUCING, now
            yield timeout(work)
            ttf -= work
            ttm -= work
            now = env.now
            m.produced += 1
            if yield_ < 1.0 and scrap_draw() >= yield_:
                m.scrapped += 1
                self.scrapped += 1
                self._leave(now)
                continue
            if not outputs:
                self._leave(now)
                self.good += 1
                self.lead_times.append(now - part.born)
                continue
            if output is not None:
                if output.room <= 0:  # a put that will wait: blocked until room frees
                    m.totals[PRODUCING] += now - m.since
                    m.state, m.since = BLOCKED, now
                yield output.put(part)
            else:
                m.totals[PRODUCING] += now - m.since
                m.state, m.since = BLOCKED, now
                yield from self._hand_over(part, outputs)

    def _take(
        self, inputs: list[Buffer], turn: int, windows: list[tuple[float, float, int]], window: int
    ) -> Generator[simpy.Event, Any, tuple[Part, int] | None]:
        """The next part from any input, taking turns so that no feeder of a merge
        starves, and the next turn; None when the next unavailability window starts
        before a part comes.

        Waiting is on a notice from the buffers, not on pending takes: a take that
        succeeds removes its part, and two succeeding at once would leave one part
        nowhere.
        """
        env = self.env
        count = len(inputs)
        while True:
            for k in range(count):
                buffer = inputs[(turn + k) % count]
                if buffer.items:
                    part: Part = yield buffer.get()  # served at once: there is a part
                    return part, (turn + k + 1) % count
            arrived = env.event()
            for buffer in inputs:
                buffer.item_waiters.append(arrived)
            if window < len(windows):
                opens = env.timeout(windows[window][0] - env.now)
                yield arrived | opens
                if not arrived.triggered:
                    return None
            else:
                yield arrived

    def _hand_over(self, part: Part, outputs: list[Buffer]) -> Generator[simpy.Event, Any, None]:
        """A split: put the part where there is most room, or wait until room frees
        up in any output (not just one of them) and choose again."""
        env = self.env
        while True:
            best = max(outputs, key=lambda b: b.room)
            if best.room > 0:
                yield best.put(part)
                return
            freed = env.event()
            for buffer in outputs:
                buffer.room_waiters.append(freed)
            yield freed

    # -- the answer -------------------------------------------------------------
    def run(self) -> Replication:
        """:raises BadInput: the run needs more than ``max_events`` events, or its
        line falls hopelessly behind its demand."""
        started = time.perf_counter()
        end = self.warmup + self.horizon
        env = self.env
        for piece in range(1, _SLICES + 1):
            env.run(until=end * piece / _SLICES)
            if next(env._eid) > self.max_events:
                raise BadInput(
                    f"a replication of line {self.line.iri} passed {self.max_events:,.0f} "
                    f"events after {env.now / 3600:,.1f} of {end / 3600:,.1f} h: far more "
                    "than its parameters suggest (very short failure, repair or maintenance "
                    "times?); shorten the horizon or check the parameters"
                )
        wall = time.perf_counter() - started
        return self._collect(end, wall)

    def _collect(self, now: float, wall: float) -> Replication:
        duration = self.horizon
        machines: list[MachineRun] = []
        for m in self.machines:
            m.totals[m.state] += now - m.since
            m.since = now
            power = m.spec.power
            by_state = (
                power.producing,
                power.idle,
                power.idle,
                power.blocked,
                power.down,
                power.setup,
                power.down,
                0.0,
            )
            energy = sum(t * p for t, p in zip(m.totals, by_state, strict=True)) / 3600.0
            machines.append(
                MachineRun(
                    iri=m.spec.iri,
                    station=m.station.iri,
                    seconds=tuple(m.totals),
                    produced=m.produced,
                    scrapped=m.scrapped,
                    ideal_cycle=m.spec.ideal_cycle,
                    energy_kwh=energy,
                )
            )
        stations = [
            StationRun.of(s.iri, [m for m in machines if m.station == s.iri])
            for s in self.line.stations
        ]
        buffers = [
            BufferRun(
                id=spec.id,
                mean_level=buffer.mean_level(now, duration),
                max_level=buffer.peak,
                passed=buffer.passed,
            )
            for spec, buffer in zip(self.line.buffers, self.buffers.values(), strict=True)
        ]
        if self.orders is not None:
            buffers.append(
                BufferRun(
                    id=ORDERS,
                    mean_level=self.orders.mean_level(now, duration),
                    max_level=self.orders.peak,
                    passed=self.orders.passed,
                )
            )
        wip = (self.wip_area + self.wip * (now - self.wip_last)) / duration
        lead = sorted(self.lead_times)
        energy = sum(m.energy_kwh for m in machines)
        return Replication(
            replication=self.replication,
            duration=duration,
            good=self.good,
            scrapped=self.scrapped,
            wip=wip,
            lead_time_mean=sum(lead) / len(lead) if lead else None,
            lead_time_p50=percentile(lead, 0.5),
            lead_time_p90=percentile(lead, 0.9),
            lead_time_p95=percentile(lead, 0.95),
            lead_time_max=lead[-1] if lead else None,
            energy_kwh=energy,
            stations=tuple(stations),
            buffers=tuple(buffers),
            machines=tuple(machines),
            events=next(self.env._eid),  # SimPy numbers every scheduled event
            wall_seconds=wall,
        )


#: The id under which the queue of released orders (arrivals not yet started) is reported.
ORDERS = "orders"


def run_replication(
    line: LineSpec,
    horizon: float,
    warmup: float,
    seed: int,
    replication: int,
    max_events: float = INF,
) -> Replication:
    """Simulate ``warmup + horizon`` seconds; statistics cover the horizon only.

    :raises BadInput: more than ``max_events`` events, or a line hopelessly behind
        its demand.
    """
    run = LineRun(
        line,
        horizon=horizon,
        warmup=warmup,
        seed=seed,
        replication=replication,
        max_events=max_events,
    )
    return run.run()
