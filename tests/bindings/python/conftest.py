"""Fixtures: a fresh SQLite + local-directory volume per test, in pytest's tmp_path."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bindings", "python"))

import juicefs  # noqa: E402


@pytest.fixture
def volume(tmp_path):
    """(meta_url, bucket) of a newly formatted volume."""
    meta = f"sqlite3://{tmp_path}/meta.db"
    bucket = str(tmp_path / "data")
    juicefs.format(meta, "pytest", bucket=bucket, trash_days=0)
    return meta, bucket


@pytest.fixture
def fs(volume):
    with juicefs.Client(volume[0]) as c:
        yield c
