"""A real Mosquitto broker on a free loopback port, started and stopped by a test.

Mosquitto comes from the Debian package ``mosquitto`` (``.ci/run`` installs it).
The broker keeps its persistence file in the test's directory, so a test can stop
and restart it and find persistent sessions and queued QoS 1 messages again.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """One broker process; ``start()`` again after ``stop()`` reuses port and state."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "autosave_interval 1\n"
            # Queue QoS 1 messages for offline persistent sessions without a cap
            # that a reliability test could hit.
            "max_queued_messages 1000000\n"
            "max_inflight_messages 0\n"
            f"log_dest file {directory}/mosquitto.log\n"
            # Started as root, Mosquitto would switch to the "mosquitto" user, which
            # cannot write in the test's private directory: no persistence file, no
            # log. Stay who started it (ignored when that is not root).
            "user root\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed (Debian package 'mosquitto')")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
