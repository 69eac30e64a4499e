"""Run once when a runtime is built (sandbox/runtime.py, Dockerfile), never in a sandbox.

pytest rewrites the asserts of every module of its plugins' packages (hypothesis,
anyio, pytest-asyncio) and caches the result in __pycache__, which no sandbox may
write: uncached, that costs every sandboxed pytest about 1.5 s. Importing and
using those packages here, where pytest may write, fills the cache once.
"""

import asyncio

import anyio.lowlevel
import pytest
from hypothesis import (
    given,
    settings,
    stateful,  # noqa: F401 (imported only to be cached)
    strategies,
)


@settings(database=None, max_examples=3)
@given(strategies.integers(), strategies.text())
def test_hypothesis(number: int, text: str) -> None:
    assert isinstance(number, int) and isinstance(text, str)


@pytest.mark.anyio
async def test_anyio() -> None:
    await anyio.lowlevel.checkpoint()


@pytest.mark.asyncio
async def test_pytest_asyncio() -> None:
    await asyncio.sleep(0)
