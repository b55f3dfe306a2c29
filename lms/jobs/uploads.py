"""Uploaded files kept between an import's preview and its confirmation.

The preview reads the upload at once; only a file that passed is kept, under an unguessable
token, until HR confirms. Confirming claims the token once (a double click imports nothing
twice), and the import job deletes the files when it is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask

UPLOAD_MAX_AGE_S = 24 * 3600


def store_uploads(folder: Path, files: Sequence[tuple[str, bytes]], params: dict[str, Any]) -> str:
    """Keep uploaded files (that passed their preview) until confirmed; returns the token.
    Uploads older than a day, previewed but never confirmed, are removed on the way."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.is_file() and now - old.stat().st_mtime > UPLOAD_MAX_AGE_S:
                old.unlink()
    token = secrets.token_urlsafe(16)
    names = []
    for number, (name, data) in enumerate(files):
        (folder / f"{token}.{number}").write_bytes(data)
        names.append(name)
    (folder / f"{token}.json").write_text(json.dumps({"files": names, **params}))
    return token


def claim_uploads(folder: Path, token: str) -> dict[str, Any] | None:
    """The stored upload's parameters and files (``[{"file", "path"}]``), once: a second claim
    (a double click on confirm) gets None, so files are never imported twice."""
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    claimed = folder / f"{token}.claimed"
    try:
        os.rename(folder / f"{token}.json", claimed)  # atomic: only one claim succeeds
    except OSError:
        return None
    meta = json.loads(claimed.read_text())
    claimed.unlink()
    names = meta.pop("files", [])
    files = [{"file": name, "path": str(folder / f"{token}.{n}")} for n, name in enumerate(names)]
    return {**meta, "files": files}


def upload_dir(app: Flask) -> Path:
    """Where uploads wait: ``uploads/`` in ``LMS_DATA_DIR`` (default: the instance folder's
    ``data/``); several app servers need it on a shared file store."""
    base = app.config["LMS_DATA_DIR"] or str(Path(app.instance_path) / "data")
    path = Path(base) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path
