"""Progress bars for long work, shown only when a front end (the CLI) asks for them.

Library calls stay silent; the CLI wraps its work in :func:`show_progress`, and loops over
files, streams or trials iterate through :func:`progress`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("assay_progress", default=False)


@contextlib.contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Within this block, :func:`progress` draws a bar on stderr."""
    token = _enabled.set(enabled)
    try:
        yield
    finally:
        _enabled.reset(token)


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items``, with a progress bar when enabled and there is more than one item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if not _enabled.get() or (total is not None and total < 2):
        yield from items
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


_tick: contextvars.ContextVar = contextvars.ContextVar("assay_progress_tick", default=None)


@contextlib.contextmanager
def counting(description: str, total: int | None = None) -> Iterator[None]:
    """Within this block, :func:`tick` advances one bar (when enabled), e.g. labels paid."""
    if not _enabled.get():
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(description, total=total)
        token = _tick.set(lambda n: bar.advance(task, n))
        try:
            yield
        finally:
            _tick.reset(token)


def tick(n: int = 1) -> None:
    """Advance the bar of the enclosing :func:`counting` block, if any."""
    advance = _tick.get()
    if advance is not None:
        advance(n)
