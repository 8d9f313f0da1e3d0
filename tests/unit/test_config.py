"""load_settings: GRAPHTWIN_* variables, their parsing, and flag overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphtwin.config import DEFAULT_NAMESPACES, Settings, load_settings


def test_no_variables_give_the_defaults() -> None:
    settings = load_settings({})

    assert settings == Settings()
    assert settings.embedded
    assert settings.namespaces == DEFAULT_NAMESPACES


def test_variables_are_parsed_to_their_types() -> None:
    settings = load_settings(
        {
            "GRAPHTWIN_DATA_DIR": "/var/lib/graphtwin",
            "GRAPHTWIN_PORT": "9000",
            "GRAPHTWIN_NEO4J_URI": "neo4j://db:7687",
            "GRAPHTWIN_NEO4J_DATABASE": "twins",
            "GRAPHTWIN_ARCADEDB_HEAP": "2g",
            "GRAPHTWIN_NAMESPACES": "https://a.example/, ,https://b.example/",
            "GRAPHTWIN_DEV": "no",
            "GRAPHTWIN_MAX_UPLOAD_BYTES": "1024",
        }
    )

    assert settings.data_dir == Path("/var/lib/graphtwin")
    assert settings.port == 9000
    assert settings.neo4j_uri == "neo4j://db:7687"
    assert not settings.embedded
    assert settings.neo4j_database == "twins"
    assert settings.arcadedb_heap == "2g"
    assert settings.namespaces == ("https://a.example/", "https://b.example/")
    assert settings.dev is False
    assert settings.max_upload_bytes == 1024


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_true_spellings(raw: str) -> None:
    assert load_settings({"GRAPHTWIN_DEV": raw}).dev is True


def test_empty_variables_are_ignored() -> None:
    assert load_settings({"GRAPHTWIN_PORT": "", "GRAPHTWIN_NEO4J_URI": ""}) == Settings()


def test_unrelated_variables_are_ignored() -> None:
    assert load_settings({"PORT": "1", "GRAPHTWIN_UNKNOWN": "x"}) == Settings()


def test_a_malformed_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="GRAPHTWIN_PORT='eighty'"):
        load_settings({"GRAPHTWIN_PORT": "eighty"})


def test_flags_override_only_what_was_given() -> None:
    base = load_settings({"GRAPHTWIN_PORT": "9000", "GRAPHTWIN_HOST": "0.0.0.0"})

    settings = base.with_overrides(port=8080, host=None)

    assert settings.port == 8080
    assert settings.host == "0.0.0.0"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHTWIN_LOG_LEVEL", "DEBUG")

    assert load_settings().log_level == "DEBUG"
