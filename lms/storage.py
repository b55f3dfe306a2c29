"""Stored files: kept under ``LMS_DATA_DIR`` by their SHA-256, written atomically.

Lesson files live in ``attachments/``, issued certificates' PDFs in ``certificates/``; the rows
that use them keep the hash. Content-addressed, so the same bytes are stored once and a stored
file never changes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask


def data_dir(app: Flask) -> Path:
    """``LMS_DATA_DIR``, or the instance folder's ``data/``."""
    return Path(app.config["LMS_DATA_DIR"] or Path(app.instance_path) / "data")


def blob_path(data_dir: str | Path, area: str, sha256: str) -> Path:
    """Where the file with this hash is stored in ``area`` (the hash is checked to be one)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return Path(data_dir) / area / sha256[:2] / sha256


def write_blob(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` atomically (readers see the whole file or none); nothing to do
    when the same content is there already."""
    if path.is_file() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
