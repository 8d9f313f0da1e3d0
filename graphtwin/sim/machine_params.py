"""A machine's simulation parameters from its stored view, and where each came from.

``gtsim:`` values may sit on the machine or on its station (the station's value is
the default for all its machines; the machine's own wins). Core figures
(``gt:idealCycleTime``, ``gt:mtbf``, ...) are the machine's own. Every parameter gets
one :class:`~graphtwin.sim.spec.Origin`, so an answer can say which value was read,
which was derived and which is a default.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef
from rdflib.namespace import RDFS

from graphtwin.errors import BadInput
from graphtwin.semantics.mapping import FLOAT_TYPES, INTEGER_TYPES, ResourceView, ValueView
from graphtwin.semantics.vocab import GT, GTSIM, PREFIXES
from graphtwin.sim.calendar import describe_calendar, parse_calendar
from graphtwin.sim.spec import Distribution, Family, MachineSpec, Origin, Power, ShiftCalendar

HOUR = 3600.0
NUMERIC_TYPES = FLOAT_TYPES | INTEGER_TYPES

# Parameter names of the origins (named like the gtsim properties, as scenarios name
# theirs); calibration replaces origins by these names.
PROCESSING = "processingTime"
PROCESSING_FAMILY = "processingDistribution"
FAILURES = "timeBetweenFailures"
REPAIR = "repairTime"
YIELD = "yield"
SETUP = "setupTime"
MAINTENANCE = "maintenance"
CALENDAR = "shiftCalendar"
POWER_STATES = ("producing", "idle", "blocked", "down", "setup")


def power_parameter(state: str) -> str:
    """``powerIdle`` for ``idle``."""
    return f"power{state.capitalize()}"


# Share of the producing power drawn in the other states when the graph says nothing.
DEFAULT_POWER_SHARE = {"idle": 0.30, "blocked": 0.30, "down": 0.05, "setup": 1.0}
_POWER_PROPERTY = {
    "producing": GTSIM.powerProducing,
    "idle": GTSIM.powerIdle,
    "blocked": GTSIM.powerBlocked,
    "down": GTSIM.powerDown,
    "setup": GTSIM.powerSetup,
}


def compact(prop: URIRef) -> str:
    """``gtsim:processingTime`` for the full IRI, for messages and details."""
    iri = str(prop)
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return f"<{iri}>"


def label_of(view: ResourceView) -> str:
    """The English (or untagged) label, else any label, else the IRI's last segment."""
    labels = view.values.get(str(RDFS.label), [])
    preferred = [v for v in labels if v.language in (None, "en")]
    if preferred or labels:
        return (preferred or labels)[0].lexical
    return view.iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


@dataclass(frozen=True)
class Found:
    """One value read from the graph, and where it was found."""

    value: float | str
    prop: URIRef
    where: str  # "the machine" or "station OP10"

    @property
    def source(self) -> str:
        return f"{compact(self.prop)} on {self.where}"


@dataclass(frozen=True)
class Scope:
    """The values of one machine, with its station's ``gtsim:`` values as defaults."""

    machine: ResourceView
    station: ResourceView | None
    # "station OP10 <iri>, machine <iri>": how messages name the machine.
    what: str
    # How details name the resource itself ("the line" when reading a line's values).
    own: str = "the machine"

    def _find(self, prop: URIRef, inherit: bool) -> tuple[ValueView, str] | None:
        views = [(self.machine, self.own)]
        if inherit and self.station is not None and self.station.iri != self.machine.iri:
            views.append((self.station, f"station {label_of(self.station)}"))
        for view, where in views:
            values = view.values.get(str(prop))
            if values:
                return values[0], where
        return None

    def number(self, prop: URIRef, *, inherit: bool = True) -> Found | None:
        """:raises BadInput: the stored value is not a number."""
        found = self._find(prop, inherit)
        if found is None:
            return None
        value, where = found
        number = numeric(value)
        if number is None:
            raise BadInput(
                f"{self.what}: {compact(prop)} on {where} is {value.lexical!r}, not a number"
            )
        return Found(number, prop, where)

    def text(self, prop: URIRef, *, inherit: bool = True) -> Found | None:
        found = self._find(prop, inherit)
        if found is None:
            return None
        value, where = found
        return Found(value.lexical.strip(), prop, where)

    def origin(self, parameter: str, value: str, source: str, detail: str) -> Origin:
        return Origin(self.machine.iri, parameter, value, source, detail)


def numeric(value: ValueView) -> float | None:
    """The number a stored literal holds; None when it is not numeric."""
    native = value.native
    if isinstance(native, (int, float)) and not isinstance(native, bool):
        return float(native)
    # A literal kept in its exact form ("5.90"^^xsd:decimal) reads back as text.
    if value.language is None and value.datatype in NUMERIC_TYPES:
        try:
            return float(value.lexical)
        except ValueError:
            return None
    return None


def family_of(found: Found | None, scope: Scope, allowed: tuple[Family, ...]) -> Family | None:
    """The family a ``gtsim:*Distribution`` value names, None when absent.

    :raises BadInput: not one of the known names, or not one ``allowed`` here.
    """
    if found is None:
        return None
    name = str(found.value).lower()
    try:
        family = Family(name)
    except ValueError:
        known = ", ".join(f.value for f in Family)
        raise BadInput(
            f"{scope.what}: {found.source} is {found.value!r}, not a known distribution "
            f"(one of {known})"
        ) from None
    if family not in allowed:
        raise BadInput(
            f"{scope.what}: {found.source} is {name!r}, which the graph cannot parameterise "
            f"here; use one of {', '.join(f.value for f in allowed)}"
        )
    return family


def _fmt(x: float) -> str:
    return f"{x:g}"


def _triangular(scope: Scope) -> tuple[Distribution, list[str]]:
    props = (GTSIM.processingTimeMin, GTSIM.processingTimeMode, GTSIM.processingTimeMax)
    parts = [scope.number(p) for p in props]
    missing = [compact(p) for p, v in zip(props, parts, strict=True) if v is None]
    if missing:
        raise BadInput(
            f"{scope.what}: a triangular processing time needs gtsim:processingTimeMin, "
            f"gtsim:processingTimeMode and gtsim:processingTimeMax; missing: {', '.join(missing)}"
        )
    low, mode, high = (float(v.value) for v in parts if v is not None)
    return Distribution.triangular(low, mode, high), [v.source for v in parts if v is not None]


def _empirical(scope: Scope) -> tuple[Distribution, list[str]]:
    samples = scope.text(GTSIM.processingTimeSamples)
    if samples is None or not str(samples.value):
        raise BadInput(
            f"{scope.what}: an empirical processing time needs gtsim:processingTimeSamples "
            '(seconds separated by spaces, e.g. "41.2 39.8 44.0")'
        )
    try:
        values = tuple(float(x) for x in str(samples.value).split())
    except ValueError:
        raise BadInput(
            f"{scope.what}: {samples.source} must be numbers separated by spaces, "
            f"got {samples.value!r}"
        ) from None
    return Distribution.empirical(values), [f"{len(values)} samples from {samples.source}"]


def _by_mean(scope: Scope, family: Family, mean: Found | None) -> tuple[Distribution, list[str]]:
    if mean is None:
        raise BadInput(
            f"{scope.what}: no processing time: set gtsim:processingTime or gt:idealCycleTime"
        )
    mu = float(mean.value)
    details = [f"mean from {mean.source}"]
    if family not in (Family.NORMAL, Family.LOGNORMAL):
        return Distribution(family, mu), details
    sd_found = scope.number(GTSIM.processingTimeStdDev)
    cv = scope.number(GTSIM.processingTimeCv)
    if sd_found is not None:
        sd = float(sd_found.value)
        details.append(f"sd from {sd_found.source}")
    elif cv is not None:
        sd = float(cv.value) * mu
        details.append(f"sd = {_fmt(float(cv.value))} x mean ({cv.source})")
    else:
        raise BadInput(
            f"{scope.what}: a {family.value} processing time needs "
            "gtsim:processingTimeStdDev or gtsim:processingTimeCv"
        )
    return Distribution(family, mu, sd), details


def processing(scope: Scope) -> tuple[Distribution, float, list[Origin]]:
    """Processing time, the ideal cycle time and their two origins.

    :raises BadInput: no mean where the family needs one, missing shape parameters,
        or parameters ``Distribution.check`` refuses.
    """
    family_found = scope.text(GTSIM.processingDistribution)
    family = family_of(family_found, scope, tuple(Family)) or Family.DETERMINISTIC
    ideal = scope.number(GT.idealCycleTime, inherit=False)
    if family is Family.TRIANGULAR:
        dist, details = _triangular(scope)
    elif family is Family.EMPIRICAL:
        dist, details = _empirical(scope)
    else:
        dist, details = _by_mean(scope, family, scope.number(GTSIM.processingTime) or ideal)
    dist.check(f"{scope.what}: processing time")
    origins = [scope.origin(PROCESSING, dist.describe(), "graph", "; ".join(details))]
    if family_found is None:
        why = "no gtsim:processingDistribution on the machine or its station: deterministic"
        origins.append(scope.origin(PROCESSING_FAMILY, family.value, "default", why))
    else:
        origins.append(scope.origin(PROCESSING_FAMILY, family.value, "graph", family_found.source))
    return dist, float(ideal.value) if ideal is not None else dist.mean, origins


def reliability(scope: Scope) -> tuple[Distribution | None, Distribution | None, list[Origin]]:
    """Failure and repair distributions (both or neither) and their origins.

    :raises BadInput: gt:mtbf without gt:mttr or the other way round, an unusable
        family, or a normal/lognormal repair without gtsim:repairTimeStdDev.
    """
    what = scope.what
    mtbf = scope.number(GT.mtbf, inherit=False)
    mttr = scope.number(GT.mttr, inherit=False)
    if mtbf is None and mttr is None:
        return (
            None,
            None,
            [
                scope.origin(
                    FAILURES, "no failures", "default", "no gt:mtbf / gt:mttr on the machine"
                ),
                scope.origin(REPAIR, "none", "default", "the machine does not fail"),
            ],
        )
    if mtbf is None or mttr is None:
        have, lack = ("gt:mtbf", "gt:mttr") if mttr is None else ("gt:mttr", "gt:mtbf")
        raise BadInput(
            f"{what}: {have} without {lack}: set both (hours), or neither for a machine "
            "that does not fail"
        )
    fail_found = scope.text(GTSIM.failureDistribution)
    fail_family = family_of(fail_found, scope, (Family.EXPONENTIAL, Family.DETERMINISTIC))
    failure = Distribution(fail_family or Family.EXPONENTIAL, float(mtbf.value) * HOUR)
    failure.check(f"{what}: time between failures (gt:mtbf)")
    fail_detail = f"mean = {mtbf.source} ({_fmt(float(mtbf.value))} h of operation)"
    fail_detail += f"; {fail_found.source}" if fail_found else "; exponential by default"

    rep_found = scope.text(GTSIM.repairDistribution)
    rep_family = family_of(
        rep_found,
        scope,
        (Family.EXPONENTIAL, Family.DETERMINISTIC, Family.NORMAL, Family.LOGNORMAL),
    )
    rep_family = rep_family or Family.EXPONENTIAL
    rep_mean = float(mttr.value) * HOUR
    rep_detail = f"mean = {mttr.source} ({_fmt(float(mttr.value))} h)"
    rep_detail += f"; {rep_found.source}" if rep_found else "; exponential by default"
    rep_sd = 0.0
    if rep_family in (Family.NORMAL, Family.LOGNORMAL):
        sd = scope.number(GTSIM.repairTimeStdDev)
        if sd is None:
            raise BadInput(
                f"{what}: a {rep_family.value} repair time needs gtsim:repairTimeStdDev (hours)"
            )
        rep_sd = float(sd.value) * HOUR
        rep_detail += f"; sd from {sd.source}"
    repair = Distribution(rep_family, rep_mean, rep_sd)
    repair.check(f"{what}: repair time (gt:mttr)")
    origins = [
        scope.origin(FAILURES, failure.describe(), "graph", fail_detail),
        scope.origin(REPAIR, repair.describe(), "graph", rep_detail),
    ]
    return failure, repair, origins


def yield_of(scope: Scope) -> tuple[float, Origin]:
    """:raises BadInput: gtsim:yield outside (0, 1]."""
    found = scope.number(GTSIM["yield"])
    if found is not None:
        value = float(found.value)
        if not 0.0 < value <= 1.0:
            raise BadInput(
                f"{scope.what}: {found.source} is {_fmt(value)}, out of range: "
                "a yield is greater than 0 and at most 1"
            )
        return value, scope.origin(YIELD, _fmt(value), "graph", found.source)
    good = scope.number(GT.goodCount, inherit=False)
    total = scope.number(GT.totalCount, inherit=False)
    if good is not None and total is not None and 0 < float(good.value) <= float(total.value):
        value = float(good.value) / float(total.value)
        detail = f"gt:goodCount {good.value:g} / gt:totalCount {total.value:g} of the machine"
        return value, scope.origin(YIELD, f"{value:.4g}", "graph", detail)
    return 1.0, scope.origin(
        YIELD, "1", "default", "no gtsim:yield and no usable gt:goodCount / gt:totalCount"
    )


def setup_of(scope: Scope) -> tuple[Distribution | None, Origin]:
    found = scope.number(GTSIM.setupTime)
    if found is None:
        return None, scope.origin(
            SETUP, "none", "default", "no gtsim:setupTime: changeovers are instant"
        )
    if float(found.value) == 0:
        return None, scope.origin(SETUP, "none", "graph", f"{found.source} is 0")
    dist = Distribution.fixed(float(found.value))
    dist.check(f"{scope.what}: setup time")
    return dist, scope.origin(SETUP, dist.describe(), "graph", found.source)


def power_of(scope: Scope) -> tuple[Power, list[Origin]]:
    """:raises BadInput: a negative power."""
    kw: dict[str, float] = {}
    origins: list[Origin] = []
    producing = scope.number(GTSIM.powerProducing) or scope.number(GT.ratedPower, inherit=False)
    if producing is None:
        kw["producing"] = 0.0
        origins.append(
            scope.origin(
                power_parameter("producing"),
                "0 kW",
                "default",
                "no gtsim:powerProducing and no gt:ratedPower",
            )
        )
    else:
        kw["producing"] = float(producing.value)
        origins.append(
            scope.origin(
                power_parameter("producing"), f"{kw['producing']:g} kW", "graph", producing.source
            )
        )
    for state in POWER_STATES[1:]:
        found = scope.number(_POWER_PROPERTY[state])
        if found is not None:
            kw[state] = float(found.value)
            origin = scope.origin(
                power_parameter(state), f"{kw[state]:g} kW", "graph", found.source
            )
        else:
            share = DEFAULT_POWER_SHARE[state]
            kw[state] = kw["producing"] * share
            unset = compact(_POWER_PROPERTY[state])
            detail = f"default: {share:.0%} of the producing power (no {unset})"
            origin = scope.origin(power_parameter(state), f"{kw[state]:g} kW", "default", detail)
        origins.append(origin)
    negative = [state for state, value in kw.items() if value < 0]
    if negative:
        raise BadInput(f"{scope.what}: power cannot be negative ({', '.join(negative)})")
    return Power(**kw), origins


def maintenance_of(scope: Scope) -> tuple[float | None, float | None, Origin]:
    interval = scope.number(GT.maintenanceInterval, inherit=False)
    duration = scope.number(GTSIM.maintenanceDuration)
    if interval is None or duration is None:
        if interval is None and duration is None:
            why = "no gt:maintenanceInterval and no gtsim:maintenanceDuration"
        elif duration is None:
            why = "gt:maintenanceInterval without gtsim:maintenanceDuration"
        else:
            why = "gtsim:maintenanceDuration without gt:maintenanceInterval"
        return None, None, scope.origin(MAINTENANCE, "none", "default", why)
    every, takes = float(interval.value), float(duration.value)
    # A zero duration would be a stop that takes no time: no maintenance at all, and
    # an endless run of zero-length stops for the simulator.
    if every <= 0 or takes <= 0:
        raise BadInput(
            f"{scope.what}: planned maintenance needs an interval > 0 and a duration > 0 "
            f"(got every {every:g} h, {takes:g} h)"
        )
    value = f"every {every:g} h of operation, {takes:g} h"
    detail = f"{interval.source}; {duration.source}"
    return every * HOUR, takes * HOUR, scope.origin(MAINTENANCE, value, "graph", detail)


def calendar_of(scope: Scope) -> tuple[ShiftCalendar | None, list[Origin]]:
    """The machine's own shift calendar (on it or its station), or None for the line's.

    :raises BadInput: a calendar that does not parse.
    """
    found = scope.text(GTSIM.shiftCalendar)
    if found is None:
        return None, []
    try:
        calendar = parse_calendar(str(found.value))
    except BadInput as exc:
        raise BadInput(f"{scope.what}: {found.source}: {exc.message}") from None
    detail = f"{found.source} (instead of the line's)"
    return calendar, [scope.origin(CALENDAR, describe_calendar(calendar), "graph", detail)]


def machine_spec(scope: Scope) -> tuple[MachineSpec, list[Origin]]:
    """The machine's parameters and one origin per parameter.

    :raises BadInput: anything the graph says that cannot be simulated; the message
        starts with ``scope.what``.
    """
    dist, ideal, origins = processing(scope)
    failure, repair, reliability_origins = reliability(scope)
    yield_, yield_origin = yield_of(scope)
    setup, setup_origin = setup_of(scope)
    power, power_origins = power_of(scope)
    every, takes, maintenance_origin = maintenance_of(scope)
    calendar, calendar_origins = calendar_of(scope)
    spec = MachineSpec(
        iri=scope.machine.iri,
        label=label_of(scope.machine),
        processing=dist,
        ideal_cycle=ideal,
        failure=failure,
        repair=repair,
        yield_=yield_,
        setup=setup,
        power=power,
        maintenance_interval=every,
        maintenance_duration=takes,
        calendar=calendar,
    )
    origins += [
        *reliability_origins,
        yield_origin,
        setup_origin,
        *power_origins,
        maintenance_origin,
        *calendar_origins,
    ]
    return spec, origins
