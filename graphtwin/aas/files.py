"""Supplementary files of imported AASX packages, kept by content in the data directory.

``<data dir>/aas-files/<sha256>``: the same file in many packages is stored once,
and a file is never rewritten in place. Which identifiable uses which file under
which package path is recorded in the graph (``gtaas:files``), so the blobs here
carry no meaning of their own.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from graphtwin.errors import NotFound


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; returns its SHA-256 (hex) and whether it was new."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest, False
        self.root.mkdir(parents=True, exist_ok=True)
        # Write aside and rename: a reader never sees half a file.
        handle, temp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return digest, True

    def get(self, sha256: str) -> bytes:
        """:raises NotFound: no file with that digest is stored."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"supplementary file {sha256} is not in {self.root}") from exc

    def discard(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)
