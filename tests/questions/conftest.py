"""Fixtures for question tests: the third-party corpus in ``../shared/corpus``."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``shared/`` lies beside the project folder (on developers' machines and in CI alike).
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The folder of real question files from other projects (see its SOURCES.md)."""
    assert CORPUS.is_dir(), f"the importer corpus is missing: {CORPUS}"
    return CORPUS
