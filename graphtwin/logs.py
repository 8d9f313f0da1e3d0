"""Console logging for graphtwin's entry points (the CLI, the standalone demo server)."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that log routine traffic at INFO: asyncua logs every publish request and
# response (several MB a minute from `serve --demo`, client and demo server both).
# They speak at INFO only when graphtwin itself logs at DEBUG.
CHATTY_LIBRARIES = ("asyncua",)


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` (DEBUG, INFO, WARNING, ERROR)."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    quiet_chatty_libraries()


def quiet_chatty_libraries() -> None:
    level = logging.getLogger().getEffectiveLevel()
    for name in CHATTY_LIBRARIES:
        quiet = logging.DEBUG if level <= logging.DEBUG else max(logging.WARNING, level)
        logging.getLogger(name).setLevel(quiet)
