"""The garbage collector's settings: fewer young collections, and start-up exempt from the
full ones."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.ops import collector


@pytest.fixture
def restored() -> Iterator[None]:
    """The test process's own collector settings, back as they were."""
    threshold = gc.get_threshold()
    frozen = gc.get_freeze_count()
    yield
    gc.set_threshold(*threshold)
    if not frozen:
        gc.unfreeze()


def test_the_young_generation_is_collected_every_ten_thousand_new_containers(
    restored: None,
) -> None:
    gc.set_threshold(700, 10, 10)
    collector.tune()
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, 10, 10)


class Node:
    """A container that can hold itself: garbage only a collection finds."""

    me: Node | None = None


def test_start_up_is_frozen_after_its_garbage_is_collected(restored: None) -> None:
    if gc.get_freeze_count():
        pytest.skip("the test process's collector is already frozen")
    garbage = Node()
    garbage.me = garbage
    gone = weakref.ref(garbage)
    del garbage
    kept = Node()
    collector.freeze_startup()
    assert gone() is None  # start-up's cycle was collected, not frozen for ever
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects())  # what lives is left to its refcount
    frozen = gc.get_freeze_count()
    collector.freeze_startup()  # "ready" again after a reconnection: nothing more is frozen
    assert gc.get_freeze_count() == frozen
