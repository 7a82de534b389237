"""The server's garbage-collector settings once it has started (bot.serve.tune_gc)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.serve import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.usefixtures("restored_gc")
def test_startup_objects_are_frozen_and_young_collections_come_less_often() -> None:
    gc.unfreeze()
    _, middle, old = gc.get_threshold()
    tune_gc()
    assert gc.get_freeze_count() > 1000  # modules, config, templates: out of the collector's way
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, middle, old)
