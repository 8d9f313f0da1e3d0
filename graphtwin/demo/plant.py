"""The ACME Components demo plant, and synthetic plants of any size for benchmarks.

Both are built by one writer so the synthetic plant has exactly the shape of the
demo (and conforms to the same SHACL shapes). Values come from a seeded
``random.Random`` and a fixed snapshot time, so every build is identical.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from graphtwin.semantics.vocab import DEMO, GT, GTSIM, PREFIXES, SOSA

# The moment the demo values describe; a fixed time keeps builds reproducible.
SNAPSHOT = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)

# Simulation: every line's demand is this share of its nominal capacity, so doubling
# the demand saturates it; every station varies its processing times this much.
DEMAND_SHARE = 0.6
PROCESSING_CV = Decimal("0.1")

# Weighted like a healthy plant: mostly producing, a little of every loss.
_STATES = ("producing", "idle", "blocked", "starved", "down", "setup")
_STATE_WEIGHTS = (70, 8, 6, 6, 5, 5)


@dataclass(frozen=True)
class Maker:
    name: str
    serial_prefix: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """A component or sensor every machine of a kind carries."""

    cls: URIRef
    slug: str
    label: str
    observes: tuple[URIRef, ...] = ()
    # Slug of the component this part is mounted on; None means the machine.
    mounted_on: str | None = None


@dataclass(frozen=True)
class MachineKind:
    cls: URIRef
    slug: str
    label: str
    makers: tuple[Maker, ...]
    power_kw: tuple[float, float]
    cycle_s: tuple[float, float]
    temperature_c: tuple[float, float]
    parts: tuple[Part, ...]


_TEMP = Part(GT.Sensor, "temp-sensor", "Temperature sensor", (GT.temperature,))
_VIB = Part(GT.Sensor, "vib-sensor", "Vibration sensor", (GT.vibrationVelocity,))
_METER = Part(GT.Sensor, "power-meter", "Power meter", (GT.activePower, GT.energyConsumed))
_MOTOR = Part(GT.Motor, "main-motor", "Main motor")
_DRIVE = Part(GT.Drive, "main-drive", "Main drive")
_SPINDLE = Part(GT.Spindle, "spindle", "Main spindle")
# Mounted on the spindle, so the demo has a component inside a component.
_SPINDLE_TEMP = Part(
    GT.Sensor, "spindle-temp", "Spindle temperature sensor", (GT.temperature,), "spindle"
)

# Plausible but fictional manufacturers and model names.
KINDS: dict[str, MachineKind] = {
    "press": MachineKind(
        GT.Press,
        "press",
        "Press",
        makers=(Maker("Krautmann Pressen", "KP", ("KSP 800", "KSP 1250", "KSP 2000 Servo")),),
        power_kw=(150.0, 450.0),
        cycle_s=(4.0, 8.0),
        temperature_c=(38.0, 55.0),
        parts=(_MOTOR, _DRIVE, _TEMP, _VIB, _METER),
    ),
    "robot": MachineKind(
        GT.IndustrialRobot,
        "robot",
        "Robot",
        makers=(
            Maker("Tessaro Robotics", "TR", ("TX-165", "TX-210 L")),
            Maker("Nakamori Automation", "NA", ("NR-20iD", "NR-700")),
        ),
        power_kw=(4.0, 12.0),
        cycle_s=(8.0, 20.0),
        temperature_c=(30.0, 45.0),
        parts=(Part(GT.Gripper, "gripper", "Gripper"), _DRIVE, _TEMP),
    ),
    "welder": MachineKind(
        GT.Welder,
        "welder",
        "Spot welder",
        makers=(Maker("Arcwell Systems", "AW", ("SpotMaster 400", "SpotMaster 600 MFDC")),),
        power_kw=(60.0, 180.0),
        cycle_s=(20.0, 45.0),
        temperature_c=(35.0, 70.0),
        parts=(_TEMP, _METER),
    ),
    "cnc": MachineKind(
        GT.CNCMachine,
        "cnc",
        "Machining centre",
        makers=(
            Maker("Hollberg Werkzeugmaschinen", "HW", ("HBZ 500", "HBZ 630 5X")),
            Maker("Ostwald CNC", "OC", ("VMC 1100", "HMC 800")),
        ),
        power_kw=(25.0, 60.0),
        cycle_s=(90.0, 240.0),
        temperature_c=(28.0, 42.0),
        parts=(_SPINDLE, _MOTOR, _SPINDLE_TEMP, _VIB, _METER),
    ),
    "molding": MachineKind(
        GT.InjectionMoldingMachine,
        "imm",
        "Injection molding machine",
        makers=(Maker("Polymold", "PM", ("PX 180", "PX 250", "PX 350 Hybrid")),),
        power_kw=(45.0, 120.0),
        cycle_s=(25.0, 60.0),
        temperature_c=(190.0, 260.0),
        parts=(_MOTOR, _DRIVE, _TEMP, _METER),
    ),
    "conveyor": MachineKind(
        GT.Conveyor,
        "conveyor",
        "Conveyor",
        makers=(Maker("Fenwick Conveying", "FC", ("FlexBelt 300", "Roller RC-60")),),
        power_kw=(1.5, 7.5),
        cycle_s=(3.0, 6.0),
        temperature_c=(25.0, 35.0),
        parts=(_MOTOR, _VIB),
    ),
    "oven": MachineKind(
        GT.CuringOven,
        "oven",
        "Curing oven",
        makers=(Maker("Thermacure", "TC", ("TC-Flow 12", "TC-Flow 24")),),
        power_kw=(80.0, 220.0),
        cycle_s=(30.0, 60.0),
        temperature_c=(160.0, 190.0),
        parts=(_MOTOR, _TEMP, _METER),
    ),
    "inspection": MachineKind(
        GT.InspectionSystem,
        "vision",
        "Inspection system",
        makers=(Maker("Lumatec Vision", "LV", ("LV-Inspect 3D", "LV-Gauge 2")),),
        power_kw=(0.8, 3.0),
        cycle_s=(5.0, 15.0),
        temperature_c=(26.0, 34.0),
        parts=(),
    ),
    "packaging": MachineKind(
        GT.PackagingMachine,
        "packer",
        "Packaging machine",
        makers=(Maker("Packwright", "PW", ("CaseLine 40", "PalStar 2")),),
        power_kw=(5.0, 18.0),
        cycle_s=(6.0, 12.0),
        temperature_c=(25.0, 38.0),
        parts=(_MOTOR, _VIB),
    ),
    "assembly": MachineKind(
        GT.AssemblyMachine,
        "assy",
        "Assembly cell",
        makers=(Maker("Assemtec", "AT", ("AT-Join 5", "AT-Screw 8")),),
        power_kw=(6.0, 25.0),
        cycle_s=(20.0, 45.0),
        temperature_c=(26.0, 40.0),
        parts=(_DRIVE, _METER),
    ),
}


@dataclass(frozen=True)
class StationSpec:
    op: str  # operation number, e.g. "op10"
    label: str
    kind: str  # key of KINDS
    parallel: int = 1


@dataclass(frozen=True)
class LineSpec:
    slug: str
    labels: tuple[Literal, ...]
    stations: tuple[StationSpec, ...]


def _labels(en: str, de: str | None = None) -> tuple[Literal, ...]:
    if de is None:
        return (Literal(en),)
    return (Literal(en, lang="en"), Literal(de, lang="de"))


_PRESS_1 = LineSpec(
    "press-1",
    _labels("Press 1", "Presse 1"),
    (
        StationSpec("op10", "OP10 Draw", "press"),
        StationSpec("op20", "OP20 Trim", "press"),
        StationSpec("op30", "OP30 Pierce and flange", "press"),
        StationSpec("op40", "OP40 Unload", "robot", 2),
        StationSpec("op50", "OP50 Surface inspection", "inspection"),
    ),
)
_WELD_1 = LineSpec(
    "weld-1",
    _labels("Body welding 1", "Rohbau-Schweißlinie 1"),
    (
        StationSpec("op10", "OP10 Load", "robot", 2),
        StationSpec("op20", "OP20 Spot weld", "welder", 2),
        StationSpec("op30", "OP30 Respot", "welder", 2),
        StationSpec("op40", "OP40 Sealer", "robot"),
        StationSpec("op50", "OP50 Cure", "oven"),
        StationSpec("op60", "OP60 Geometry check", "inspection"),
    ),
)
_CNC_1 = LineSpec(
    "cnc-1",
    _labels("CNC machining 1", "CNC-Bearbeitung 1"),
    (
        StationSpec("op10", "OP10 Rough milling", "cnc", 3),
        StationSpec("op20", "OP20 Finish milling", "cnc", 3),
        StationSpec("op30", "OP30 Deburr", "robot"),
        StationSpec("op40", "OP40 CMM", "inspection"),
        StationSpec("op50", "OP50 Outfeed", "conveyor"),
    ),
)
_IM_1 = LineSpec(
    "im-1",
    _labels("Injection molding 1"),
    (
        StationSpec("op10", "OP10 Mold", "molding", 4),
        StationSpec("op20", "OP20 Take-out", "robot", 2),
        StationSpec("op30", "OP30 Cooling conveyor", "conveyor"),
        StationSpec("op40", "OP40 Vision check", "inspection"),
    ),
)
_IM_2 = LineSpec(
    "im-2",
    _labels("Injection molding 2"),
    (
        StationSpec("op10", "OP10 Mold", "molding", 3),
        StationSpec("op20", "OP20 Take-out", "robot"),
        StationSpec("op30", "OP30 Vision check", "inspection"),
    ),
)
_ASSY_1 = LineSpec(
    "assy-1",
    _labels("Final assembly and packaging"),
    (
        StationSpec("op10", "OP10 Pre-assembly", "assembly", 2),
        StationSpec("op20", "OP20 Screwing", "assembly"),
        StationSpec("op30", "OP30 Adhesive", "robot"),
        StationSpec("op40", "OP40 Adhesive cure", "oven"),
        StationSpec("op50", "OP50 End-of-line test", "inspection"),
        StationSpec("op60", "OP60 Case packing", "packaging", 2),
        StationSpec("op70", "OP70 Outfeed", "conveyor"),
    ),
)
LINE_TEMPLATES = (_PRESS_1, _WELD_1, _CNC_1, _IM_1, _IM_2, _ASSY_1)


class PlantWriter:
    """Adds sites, areas, lines, stations, buffers and machines to one graph."""

    def __init__(self, rng: random.Random, *, parts_every: int = 1) -> None:
        self.graph = Graph()
        # Every n-th machine gets its components and sensors (1: every machine).
        self._parts_every = parts_every
        self._machines = 0
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self.graph.bind("acme", DEMO)
        self._rng = rng
        self._serials = itertools.count(rng.randint(1000, 9000))

    def _asset(
        self,
        iri: str,
        cls: URIRef,
        labels: tuple[Literal, ...],
        parent: URIRef | None,
    ) -> URIRef:
        node = URIRef(iri)
        self.graph.add((node, RDF.type, cls))
        for label in labels:
            self.graph.add((node, RDFS.label, label))
        if parent is not None:
            self.graph.add((node, GT.partOf, parent))
        return node

    def _decimal(self, low: float, high: float, places: int = 1) -> Literal:
        # Formatted, not float-converted, so the lexical form stays clean ("12.5").
        return Literal(Decimal(f"{self._rng.uniform(low, high):.{places}f}"))

    def site(
        self, slug: str, labels: tuple[Literal, ...], code: str, tz: str, description: str
    ) -> URIRef:
        node = self._asset(f"{DEMO}sites/{slug}", GT.Site, labels, None)
        self.graph.add((node, GT.siteCode, Literal(code)))
        self.graph.add((node, GT.timeZone, Literal(tz)))
        self.graph.add((node, DCTERMS.description, Literal(description, lang="en")))
        return node

    def area(self, site: URIRef, slug: str, labels: tuple[Literal, ...]) -> URIRef:
        return self._asset(f"{site}/areas/{slug}", GT.Area, labels, site)

    def line(
        self,
        site: URIRef,
        parent: URIRef,
        spec: LineSpec,
        voltage: int,
        *,
        slug: str | None = None,
        limit: int | None = None,
    ) -> int:
        """Add a line with its stations, buffers and machines; return the machines added.

        ``limit`` caps the machines (the last station may get fewer parallel machines).
        """
        line = self._asset(f"{site}/lines/{slug or spec.slug}", GT.Line, spec.labels, parent)
        added = 0
        upstream: tuple[URIRef, str] | None = None  # previous station and its number
        # Parts per second each station can make: its machines / their mean ideal cycle.
        station_rates: list[float] = []
        for station_spec in spec.stations:
            count = station_spec.parallel
            if limit is not None:
                count = min(count, limit - added)
            if count <= 0:
                break
            station = self._asset(
                f"{line}/stations/{station_spec.op}",
                GT.Station,
                (Literal(station_spec.label),),
                line,
            )
            if upstream is not None:
                # A buffer decouples every pair of neighbouring stations.
                previous, number = upstream
                buffer = self._asset(
                    f"{line}/buffers/b{number}",
                    GT.Buffer,
                    (Literal(f"Buffer after OP{number}"),),
                    line,
                )
                self.graph.add((buffer, GT.capacity, Literal(self._rng.choice((4, 6, 8, 12, 20)))))
                self.graph.add((previous, GT.feeds, buffer))
                self.graph.add((buffer, GT.feeds, station))
            self.graph.add((station, GTSIM.processingDistribution, Literal("lognormal")))
            self.graph.add((station, GTSIM.processingTimeCv, Literal(PROCESSING_CV)))
            kind = KINDS[station_spec.kind]
            code = (slug or spec.slug).rsplit("-", 1)[-1]
            ideals: list[float] = []
            for index in range(count):
                letter = chr(ord("a") + added + index)
                node = self.machine(station, kind, f"{kind.slug}-{code}{letter}", voltage)
                ideal = self.graph.value(node, GT.idealCycleTime)
                assert isinstance(ideal, Literal)  # machine() always writes one
                ideals.append(float(ideal))
            station_rates.append(count / (sum(ideals) / count))
            added += count
            upstream = (station, station_spec.op.removeprefix("op"))
        if station_rates:
            capacity = min(station_rates) * 3600
            demand = Decimal(f"{capacity * DEMAND_SHARE:.1f}")
            self.graph.add((line, GTSIM.demandRate, Literal(demand)))
        return added

    def machine(self, parent: URIRef, kind: MachineKind, slug: str, voltage: int) -> URIRef:
        rng = self._rng
        label = f"{kind.label} {slug.rsplit('-', 1)[-1].upper()}"
        node = self._asset(f"{parent}/{slug}", kind.cls, (Literal(label),), parent)
        maker = rng.choice(kind.makers)
        year = rng.randint(2008, 2023)
        commissioned = date(year, 1, 1) + timedelta(days=rng.randint(60, 420))
        rated = rng.uniform(*kind.power_kw)
        ideal = rng.uniform(*kind.cycle_s)
        hours = (SNAPSHOT.date() - commissioned).days * 24 * rng.uniform(0.45, 0.8)
        state = rng.choices(_STATES, _STATE_WEIGHTS)[0]
        load = {"producing": 0.7, "setup": 0.3, "down": 0.0}.get(state, 0.15)
        total = int(8 * 3600 / ideal * rng.uniform(0.5, 0.95))
        g = self.graph
        for predicate, value in (
            (GT.manufacturer, Literal(maker.name)),
            (GT.model, Literal(rng.choice(maker.models))),
            (GT.serialNumber, Literal(f"{maker.serial_prefix}-{year}-{next(self._serials):06d}")),
            (GT.yearOfConstruction, Literal(str(year), datatype=XSD.gYear)),
            (GT.commissioningDate, Literal(commissioned)),
            (GT.ratedPower, Literal(Decimal(f"{rated:.1f}"))),
            (GT.ratedVoltage, Literal(Decimal(f"{voltage}.0"))),
            (GT.idealCycleTime, Literal(Decimal(f"{ideal:.1f}"))),
            (GT.operatingHours, Literal(Decimal(f"{hours:.1f}"))),
            (GT.maintenanceInterval, Literal(Decimal(rng.choice(("500.0", "1000.0", "2000.0"))))),
            (GT.lastMaintenance, Literal(SNAPSHOT - timedelta(hours=rng.randint(24, 24 * 90)))),
            (GT.mtbf, self._decimal(150.0, 900.0)),
            (GT.mttr, self._decimal(0.5, 6.0, 2)),
            (GT.cycleTime, Literal(Decimal(f"{ideal * rng.uniform(1.0, 1.25):.1f}"))),
            (GT.temperature, self._decimal(*kind.temperature_c)),
            (GT.vibrationVelocity, self._decimal(0.4, 4.5, 2)),
            (GT.activePower, Literal(Decimal(f"{rated * load * rng.uniform(0.8, 1.2):.2f}"))),
            (GT.energyConsumed, Literal(Decimal(f"{hours * rated * 0.55:.1f}"))),
            (GT.totalCount, Literal(total)),
            (GT.goodCount, Literal(int(total * rng.uniform(0.95, 0.998)))),
            (GT.machineState, Literal(state)),
        ):
            g.add((node, predicate, value))
        self._machines += 1
        if self._machines % self._parts_every == 0:
            for part in kind.parts:
                self._part(node, part, maker, year)
        return node

    def _part(self, machine: URIRef, part: Part, maker: Maker, year: int) -> None:
        parent = machine if part.mounted_on is None else URIRef(f"{machine}/{part.mounted_on}")
        node = self._asset(f"{machine}/{part.slug}", part.cls, (Literal(part.label),), parent)
        self.graph.add(
            (
                node,
                GT.serialNumber,
                Literal(f"{maker.serial_prefix}-{year}-{next(self._serials):06d}"),
            )
        )
        for observed in part.observes:
            self.graph.add((node, SOSA.observes, observed))


def build_demo_plant() -> Graph:
    """The ACME Components demo: two sites, six lines, 46 machines."""
    plant = PlantWriter(random.Random(20250602))
    stuttgart = plant.site(
        "stuttgart",
        _labels("ACME Components Stuttgart"),
        "STR",
        "Europe/Berlin",
        "Body parts and machined housings.",
    )
    body_shop = plant.area(stuttgart, "body-shop", _labels("Body shop", "Karosseriebau"))
    machining = plant.area(stuttgart, "machining", _labels("Machining", "Mechanische Fertigung"))
    plant.line(stuttgart, body_shop, _PRESS_1, 400)
    plant.line(stuttgart, body_shop, _WELD_1, 400)
    plant.line(stuttgart, machining, _CNC_1, 400)

    greenville = plant.site(
        "greenville",
        _labels("ACME Components Greenville"),
        "GVL",
        "America/New_York",
        "Molded parts, final assembly and packaging.",
    )
    molding = plant.area(greenville, "molding", _labels("Molding hall"))
    assembly = plant.area(greenville, "assembly", _labels("Assembly hall"))
    plant.line(greenville, molding, _IM_1, 480)
    plant.line(greenville, molding, _IM_2, 480)
    plant.line(greenville, assembly, _ASSY_1, 480)
    return plant.graph


# Synthetic plant layout: sites of 4 areas with 5 lines each (~150 machines a site).
_AREAS_PER_SITE = 4
_LINES_PER_AREA = 5
_TIME_ZONES = (("Europe/Berlin", 400), ("America/New_York", 480), ("Asia/Shanghai", 380))


def generate_plant(machines: int, *, seed: int = 7) -> Graph:
    """A synthetic plant with exactly ``machines`` machines, built from the demo's lines.

    :raises ValueError: ``machines`` is less than 1.
    """
    if machines < 1:
        raise ValueError(f"a plant needs at least one machine, got {machines}")
    rng = random.Random(seed)
    # Components and sensors on one machine in ten: ~30 triples a machine keeps a
    # 10,000-machine plant near 300k triples, big enough to benchmark and quick to build.
    plant = PlantWriter(rng, parts_every=10)
    remaining = machines
    site_no = 0
    while remaining:
        site_no += 1
        tz, voltage = rng.choice(_TIME_ZONES)
        site = plant.site(
            f"plant-{site_no:03d}",
            _labels(f"Plant {site_no:03d}"),
            f"P{site_no:03d}",
            tz,
            "Synthetic plant for benchmarks.",
        )
        for area_no in range(1, _AREAS_PER_SITE + 1):
            if not remaining:
                break
            area = plant.area(site, f"hall-{area_no}", _labels(f"Hall {area_no}"))
            for line_no in range(1, _LINES_PER_AREA + 1):
                if not remaining:
                    break
                spec = rng.choice(LINE_TEMPLATES)
                remaining -= plant.line(
                    site, area, spec, voltage, slug=f"line-{area_no}{line_no}", limit=remaining
                )
    return plant.graph
