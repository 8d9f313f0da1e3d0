"""How the command line (and the standalone demo server) set up logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from graphtwin.logs import quiet_chatty_libraries


@pytest.fixture
def root_level() -> Iterator[logging.Logger]:
    root, asyncua = logging.getLogger(), logging.getLogger("asyncua")
    saved = root.level, asyncua.level
    yield root
    root.setLevel(saved[0])
    asyncua.setLevel(saved[1])


def test_serve_does_not_flood_the_log_with_asyncua_publish_traffic(
    root_level: logging.Logger,
) -> None:
    """`serve --demo` at the default INFO level wrote every OPC UA publish request and
    response to the log, several megabytes a minute."""
    root_level.setLevel(logging.INFO)
    quiet_chatty_libraries()
    publish = logging.getLogger("asyncua.common.subscription")
    assert not publish.isEnabledFor(logging.INFO)
    assert publish.isEnabledFor(logging.WARNING)


def test_debug_logging_keeps_everything(root_level: logging.Logger) -> None:
    root_level.setLevel(logging.DEBUG)
    quiet_chatty_libraries()
    assert logging.getLogger("asyncua.common.subscription").isEnabledFor(logging.DEBUG)


def test_a_quieter_level_than_warning_applies_to_the_libraries_too(
    root_level: logging.Logger,
) -> None:
    root_level.setLevel(logging.ERROR)
    quiet_chatty_libraries()
    assert not logging.getLogger("asyncua.client").isEnabledFor(logging.WARNING)
