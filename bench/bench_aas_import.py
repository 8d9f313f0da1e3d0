"""Import an AASX package of many shells into a fresh embedded engine, phase by phase.

The package: N shells, each with one submodel of E submodel elements (Properties
of several value types, MultiLanguageProperties, Ranges, a collection), each
element with an ECLASS-style semanticId, one concept description, and a
SerialNumber specificAssetId per shell (so the serial-number match runs). It is
built with basyx and written with basyx's AASXWriter (not timed).

Timed, in one run on one machine:

1. **baseline: basyx parse alone**: ``AASXReader(...).read_into`` of the package;
2. **baseline: basyx parse + encode**: plus ``AASToJsonEncoder`` of every
   identifiable (the per-object documents graphtwin stores);
3. **graphtwin**: ``AasService.import_bytes`` as a whole, split into reading the
   package (``AasService.read``), SHACL validation and the graph write (probes on
   the writer's attributes, product code untouched), and the rest (documents,
   id and reference checks, shell matching, planning, graph reads);
4. reading back: ``AasService.submodels()`` cold (decoding every document) and
   warm (decoded objects cached).

    python bench/bench_aas_import.py                # 1,000 shells x 20 elements
    python bench/bench_aas_import.py --quick        # 100 shells
    python bench/bench_aas_import.py --shells 2000 --elements 40

Target: 1,000 shells with 20 submodel elements each imported in <= 30 s.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from _common import (
    Stopwatch,
    base_parser,
    engine_name,
    fresh_runtime,
    machine_summary,
    print_table,
    write_json,
)
from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import AASToJsonEncoder

TARGET_SECONDS = 30.0
DEFAULT_SHELLS = 1000
QUICK_SHELLS = 100
ELEMENTS = 20


def _ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def _elements(index: int, count: int) -> list[model.SubmodelElement]:
    """``count`` submodel elements (a collection counts with its two children)."""
    out: list[model.SubmodelElement] = []
    made = 0
    while made < count:
        n = len(out)
        semantic = _ref(f"0173-1#02-BEN{n:03d}#001")
        kind = n % 6
        if kind == 5 and count - made >= 3:
            out.append(
                model.SubmodelElementCollection(
                    f"Group{n}",
                    value=[
                        model.Property("Street", model.datatypes.String, f"Main St {index}"),
                        model.Property("Zip", model.datatypes.String, f"{10000 + index}"),
                    ],
                    semantic_id=semantic,
                )
            )
            made += 3
            continue
        if kind == 3:
            out.append(
                model.MultiLanguageProperty(
                    f"Text{n}",
                    model.MultiLanguageTextType({"en": f"text {index}", "de": f"Text {index}"}),
                    semantic_id=semantic,
                )
            )
        elif kind == 4:
            out.append(model.Range(f"Range{n}", model.datatypes.Double, min=0.0, max=float(index)))
        elif kind == 1:
            out.append(
                model.Property(f"Count{n}", model.datatypes.Int, index, semantic_id=semantic)
            )
        elif kind == 2:
            out.append(
                model.Property(
                    f"Name{n}", model.datatypes.String, f"n{index}", semantic_id=semantic
                )
            )
        else:
            out.append(
                model.Property(
                    f"Value{n}", model.datatypes.Double, index * 1.5, semantic_id=semantic
                )
            )
        made += 1
    return out


def build_objects(shells: int, elements: int) -> list[model.Identifiable]:
    objects: list[model.Identifiable] = [
        model.ConceptDescription("0173-1#02-BEN000#001", id_short="BenchValue")
    ]
    for i in range(shells):
        submodel = model.Submodel(
            f"https://bench.example/ids/sm/{i}",
            id_short="OperatingData",
            semantic_id=_ref("https://bench.example/semantics/OperatingData"),
            submodel_element=_elements(i, elements),
        )
        shell = model.AssetAdministrationShell(
            model.AssetInformation(
                asset_kind=model.AssetKind.INSTANCE,
                global_asset_id=f"https://bench.example/assets/{i}",
                specific_asset_id=[model.SpecificAssetId("SerialNumber", f"BENCH-{i:06d}")],
            ),
            f"https://bench.example/ids/aas/{i}",
            id_short=f"Machine{i}",
            submodel={model.ModelReference.from_referable(submodel)},
        )
        objects += [shell, submodel]
    return objects


def build_package(shells: int, elements: int) -> bytes:
    buffer = io.BytesIO()
    with aasx.AASXWriter(buffer, failsafe=False) as writer:
        writer.write_all_aas_objects(
            "/aasx/data.xml",
            model.DictObjectStore(build_objects(shells, elements)),
            aasx.DictSupplementaryFileContainer(),  # type: ignore[no-untyped-call]
        )
    return buffer.getvalue()


def basyx_parse(data: bytes) -> model.DictObjectStore[model.Identifiable]:
    store: model.DictObjectStore[model.Identifiable] = model.DictObjectStore()
    with aasx.AASXReader(io.BytesIO(data), failsafe=False) as reader:
        reader.read_into(store, aasx.DictSupplementaryFileContainer())  # type: ignore[no-untyped-call]
    return store


def baseline(data: bytes, watch: Stopwatch) -> int:
    with watch.phase("basyx parse"):
        store = basyx_parse(data)
    with watch.phase("basyx encode"):
        for obj in store:
            json.dumps(obj, cls=AASToJsonEncoder, separators=(",", ":"))
    return len(store)


class _Timed:
    """Stands in for a writer attribute and adds up the time spent in one method."""

    def __init__(self, target: Any, method: str, watch: Stopwatch, phase: str) -> None:
        self._target, self._method, self._watch, self._phase = target, method, watch, phase

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name != self._method:
            return attr

        async def timed(*args: Any, **kwargs: Any) -> Any:
            with self._watch.phase(self._phase):
                return await attr(*args, **kwargs)

        return timed


async def measure(services: Any, data: bytes, watch: Stopwatch) -> dict[str, Any]:
    """Import ``data`` through ``services.aas`` and read it back, timing the phases."""
    aas = services.aas
    writer = services.twins.writer
    validator, repository = writer.validator, writer.repository
    writer.validator = _Timed(validator, "validate_descriptions", watch, "SHACL validation")
    writer.repository = _Timed(repository, "write", watch, "graph write")
    try:
        start = time.perf_counter()
        with watch.phase("read package"):
            env = aas.read(data, "aasx")
        result = await aas.importer.run(env)
        watch.add("import total", time.perf_counter() - start)
    finally:
        writer.validator, writer.repository = validator, repository
    aas.cache.clear()  # cold: every document decoded again
    with watch.phase("submodels() cold"):
        cold = await aas.submodels()
    with watch.phase("submodels() warm"):
        warm = await aas.submodels()
    return {
        "shells": len(result.shells),
        "submodels": len(result.submodels),
        "concept_descriptions": len(result.concept_descriptions),
        "unlinked": len(result.unlinked),
        "resources": len(result.write.created),
        "triples": result.write.triples_added,
        "read_back": len(cold) == len(warm) == len(result.submodels),
    }


async def run(shells: int, elements: int) -> dict[str, Any]:
    watch = Stopwatch()
    with watch.phase("build package"):
        data = build_package(shells, elements)
    identifiables = baseline(data, watch)
    async with fresh_runtime(live=False) as runtime:
        counts = await measure(runtime.services, data, watch)
        engine = engine_name(runtime.settings)
    return {
        "shells": shells,
        "elements": elements,
        "aasx_bytes": len(data),
        "identifiables": identifiables,
        "engine": engine,
        **counts,
        "phases": dict(watch.totals),
    }


def report(out: dict[str, Any]) -> None:
    phases = out["phases"]
    total = phases["import total"]
    rest = total - sum(
        phases.get(p, 0.0) for p in ("read package", "SHACL validation", "graph write")
    )
    parse = phases["basyx parse"]
    rows: Sequence[Sequence[Any]] = [
        ["baseline: basyx parse alone (AASXReader.read_into)", parse, 1.0],
        [
            "baseline: basyx parse + JSON encode of each object",
            parse + phases["basyx encode"],
            None,
        ],
        ["graphtwin import_bytes, total", total, total / parse if parse else None],
        ["  read package (strict basyx decode, files, checks)", phases["read package"], None],
        ["  documents, id/reference checks, matching, planning", rest, None],
        ["  SHACL validation (pySHACL)", phases.get("SHACL validation", 0.0), None],
        ["  graph write (one transaction)", phases.get("graph write", 0.0), None],
        ["submodels() read back, cold (decode every document)", phases["submodels() cold"], None],
        ["submodels() read back, warm (decoded objects cached)", phases["submodels() warm"], None],
    ]
    print(machine_summary())
    print(
        f"{out['engine']}: {out['shells']:,} shells x {out['elements']} submodel elements, "
        f"{out['aasx_bytes']:,} bytes AASX, {out['identifiables']:,} identifiables, "
        f"{out['resources']:,} resources / {out['triples']:,} triples written, "
        f"{out['unlinked']:,} shells unlinked"
    )
    print_table("AAS import (seconds)", ["phase", "seconds", "x basyx parse"], rows)
    verdict = "meets" if total <= TARGET_SECONDS else "MISSES"
    print(
        f"\ntarget: {out['shells']:,} shells <= {TARGET_SECONDS:.0f} s: {verdict} ({total:.1f} s)"
    )


def main(argv: Iterable[str] | None = None) -> None:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--shells", type=int, default=None, help=f"default {DEFAULT_SHELLS}")
    parser.add_argument("--elements", type=int, default=ELEMENTS, help="per submodel")
    args = parser.parse_args(list(argv) if argv is not None else None)
    shells = args.shells or (QUICK_SHELLS if args.quick else DEFAULT_SHELLS)
    out = asyncio.run(run(shells, args.elements))
    report(out)
    write_json(args.json, out)


if __name__ == "__main__":
    main()
