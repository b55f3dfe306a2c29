"""Fixtures for question tests: the third-party corpus in ``../shared/corpus``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: ``shared/`` lies beside the project folder (on developers' machines and in CI alike);
#: ``LMS_CORPUS_DIR`` points elsewhere.
CORPUS = Path(
    os.environ.get("LMS_CORPUS_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The folder of real question files from other projects (see its SOURCES.md)."""
    assert CORPUS.is_dir(), f"the importer corpus is missing: {CORPUS}"
    return CORPUS
