"""``graphtwin aas import`` / ``graphtwin aas export``, each on its own embedded engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from graphtwin.aas.package import read_aasx
from graphtwin.cli import cli
from tests.unit.test_aas_sample import (
    PLANT,
    PRESS,
    PUMP,
    SHELL_ID,
    check_file,
    sample_environment,
    serialize,
)

pytestmark = pytest.mark.integration


def _invoke(data_dir: Path, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--log-level", "WARNING", *args])
    return result.exit_code, result.stdout_bytes, result.stderr


def test_aas_commands_are_listed() -> None:
    result = CliRunner().invoke(cli, ["aas", "--help"])
    assert result.exit_code == 0
    assert "import" in result.stdout and "export" in result.stdout


def test_import_link_export_and_a_refused_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    plant = tmp_path / "plant.ttl"
    plant.write_text(PLANT, encoding="utf-8")
    package = tmp_path / "pump.aasx"
    package.write_bytes(serialize(sample_environment(), "aasx"))
    assert _invoke(data, "import", str(plant))[0] == 0

    code, _, err = _invoke(data, "aas", "import", str(package), "--link", f"{SHELL_ID}={PRESS}")
    assert code == 0, err
    assert "1 shells, 2 submodels, 1 concept descriptions, 2 supplementary files" in err
    assert f"linked {SHELL_ID} -> {PRESS} (by link)" in err

    out = tmp_path / "press.aasx"
    code, _, err = _invoke(data, "aas", "export", PRESS, "--format", "aasx", "-o", str(out))
    assert code == 0, err
    assert check_file(out.read_bytes(), "aasx").ok()
    assert [s.id for s in read_aasx(out.read_bytes(), max_unpacked=10**7).shells] == [SHELL_ID]

    code, stdout, err = _invoke(data, "aas", "export", PUMP, "--format", "json")
    assert code == 0, err
    assert check_file(stdout, "json").ok()  # the pump's generated shell needs a maker: none
    assert b'"assetAdministrationShells"' not in stdout

    broken = tmp_path / "broken.json"
    broken.write_text('{"submodels": [', encoding="utf-8")
    code, _, err = _invoke(data, "aas", "import", str(broken))
    assert code == 2
    assert "invalid JSON" in err and "Traceback" not in err

    code, _, err = _invoke(data, "aas", "import", str(package), "--link", "no-equals-sign")
    assert code == 2
    assert "SHELL_ID=IRI" in err
