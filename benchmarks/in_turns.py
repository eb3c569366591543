"""Settings measured in turns: two checkouts, engines or models folders timed one after the other on the
same work, round after round, so that a busy machine slows them all alike and their ratio holds. The
benchmarks that compare settings in one run (compare_models, compare_engines and compare_processes,
photo_cpu_in_turns, compare_folder_read) take their turns from this one loop."""

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

Work = TypeVar("Work")
Setting = TypeVar("Setting")


def in_turns(settings: Sequence[Setting], rounds: Iterable[Work]) -> Iterator[tuple[Work, Setting]]:
    """Each round's work with every setting in turn: (work, setting), the settings' order reversed every
    other round, so that each goes first as often as last."""
    order = list(settings)
    for number, work in enumerate(rounds):
        for setting in order if number % 2 == 0 else order[::-1]:
            yield work, setting
