"""The graphtwin command line, each command on its own embedded engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.compare import isomorphic

from graphtwin.bootstrap import running
from graphtwin.cli import cli
from graphtwin.config import load_settings
from graphtwin.demo.plant import build_demo_plant

pytestmark = pytest.mark.integration


def _invoke(data_dir: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, ["--data-dir", str(data_dir), "--log-level", "WARNING", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "import", "export", "validate", "ontology"):
        assert command in result.stdout


def test_ontology_list_shows_the_class_hierarchy_and_units(tmp_path: Path) -> None:
    code, out, _ = _invoke(tmp_path, "ontology", "list")
    assert code == 0
    lines = out.splitlines()
    machine = next(
        i
        for i, line in enumerate(lines)
        if line.strip().startswith("https://w3id.org/graphtwin/core#Machine ")
    )
    press = next(i for i, line in enumerate(lines) if "core#Press " in line)
    assert press > machine and lines[press].startswith(" " * 4)
    code, out, _ = _invoke(tmp_path, "ontology", "list", "--properties")
    assert code == 0
    assert any("core#temperature" in line and "[°C]" in line for line in out.splitlines())


def test_import_export_validate_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "plant.ttl"
    build_demo_plant().serialize(source, format="turtle")
    data = tmp_path / "data"
    code, _, err = _invoke(data, "import", str(source))
    assert code == 0, err
    assert "created" in err
    out_file = tmp_path / "export.ttl"
    code, _, err = _invoke(data, "export", "--format", "turtle", "-o", str(out_file))
    assert code == 0, err
    assert isomorphic(Graph().parse(out_file), build_demo_plant())
    code, out, err = _invoke(data, "validate")
    assert code == 0, err
    assert out.strip().endswith("conforms")


def test_import_of_a_malformed_file_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix gt: <https://w3id.org/graphtwin/core#> .\ngt:a gt:b ", encoding="utf-8")
    data = tmp_path / "data"
    code, _, err = _invoke(data, "import", str(bad))
    assert code == 2
    assert "malformed turtle document" in err
    assert "Traceback" not in err
    code, out, _ = _invoke(data, "export", "--format", "nt")
    assert code == 0
    assert out.strip() == ""


def test_validate_reports_violations_in_the_stored_graph(tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def store_a_machine_in_no_line() -> None:
        settings = load_settings().with_overrides(data_dir=data)
        async with running(settings, supervise=False) as runtime:
            # Written around the write path on purpose: validate must find it.
            await runtime.engine.store.write(
                [
                    (
                        "CREATE (:Resource:gt__Press:gt__Machine:gt__Asset "
                        "{iri: 'https://acme.example/sites/x/stray', "
                        "_types: ['https://w3id.org/graphtwin/core#Press']})",
                        {},
                    )
                ]
            )

    asyncio.run(store_a_machine_in_no_line())
    code, out, _ = _invoke(data, "validate")
    assert code == 1
    assert "https://acme.example/sites/x/stray" in out
    assert "violation" in out


def test_a_data_directory_in_use_is_reported_without_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def hold_the_graph_while_exporting() -> tuple[int, str, str]:
        settings = load_settings().with_overrides(data_dir=data)
        async with running(settings, supervise=False):
            return await asyncio.to_thread(_invoke, data, "export")

    code, _, err = asyncio.run(hold_the_graph_while_exporting())
    assert code == 2
    assert "in use by another process" in err
    assert "Traceback" not in err
