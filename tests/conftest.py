"""Shared fixtures: small codebooks keep the property tests fast."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from jsonvec import Codebook

settings.register_profile("jsonvec", max_examples=60, deadline=None)
settings.load_profile("jsonvec")

# files that passed their checksum are remembered (jsonvec.storage.verified): here, and in
# every command the tests run, in a folder of the test run's own, never the user's cache
os.environ.setdefault("JSONVEC_CACHE_DIR", tempfile.mkdtemp(prefix="jsonvec-cache-"))

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="session")
def small() -> Codebook:
    """A 256-dimensional codebook: cheap, yet with near-orthogonal atoms."""
    return Codebook(dim=256, seed=3)


@pytest.fixture
def samples() -> Path:
    return SAMPLES
