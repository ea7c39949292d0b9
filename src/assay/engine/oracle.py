"""A Python oracle (a model) run by Ray actors, in batches, its answers handed to the query as
they arrive.

The query (sampling, bounds) stays on the driver; so does the workspace: each answer is
committed there the moment its batch comes back, exactly as for a local oracle, so a query that
is killed and rerun asks for nothing it was already given, and an oracle whose actor dies
mid-batch (its node lost) is retried by Ray without any answer being stored twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..approx.oracle import FunctionOracle, as_oracle
from ..exceptions import InvalidParameterError
from .engines import import_ray

__all__ = ["RayOracle"]


class _Model:
    """The body of one actor: the oracle's function, called on a batch of rows."""

    def __init__(self, fn: Callable[[pd.DataFrame], Any]) -> None:
        self.fn = fn

    def call(self, rows: pd.DataFrame) -> np.ndarray:
        out = self.fn(rows)
        return np.asarray(list(out) if isinstance(out, Iterator) else out)


class RayOracle(FunctionOracle):
    """A Python oracle answered by Ray actors, ``batch_size`` records per call.

    It is the same oracle as the function run locally (same identity, so the answers a
    workspace holds for one are reused by the other); only where it runs differs.

    Parameters
    ----------
    fn : callable or str
        The oracle: a function of a batch of rows, or ``python:module:function[@VERSION]``.
        Each actor's worker must be able to import it (install the module in the cluster's
        runtime environment).
    actors : int, default 1
        Actors answering side by side (each holds one copy of the model).
    num_cpus, num_gpus : float
        Resources each actor reserves (``num_gpus=1`` puts each on a GPU of its own).
    batch_size : int, default 64
        Records per call.
    address : str, optional
        The Ray cluster (see :class:`~assay.engine.RayEngine`).
    max_restarts : int, default 3
        Times an actor is restarted (on another node) after its process or node died; the
        batch it was answering is asked again.
    name, version, fields
        As for :class:`~assay.approx.FunctionOracle`.

    Examples
    --------
    >>> from assay.engine import RayOracle
    >>> o = RayOracle("python:math:floor@v2", actors=2, num_gpus=0)
    >>> o.identity("file:/x.csv"), o.actors
    ('python:math:floor#v2', 2)
    """

    def __init__(
        self,
        fn: Callable[[pd.DataFrame], Any] | str,
        *,
        actors: int = 1,
        num_cpus: float = 1,
        num_gpus: float = 0,
        batch_size: int = 64,
        address: str | None = None,
        max_restarts: int = 3,
        name: str | None = None,
        version: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> None:
        base = as_oracle(fn, param="fn", caller="RayOracle") if isinstance(fn, str) else None
        if base is not None and not isinstance(base, FunctionOracle):
            raise InvalidParameterError(
                f"The 'fn' parameter of RayOracle must be a function or python:module:function. Got {fn!r}.")
        if base is not None:
            fn = base.fn
            name = name or base.name
            version = version if version is not None else base.version
        for param, value, least in (("actors", actors, 1), ("batch_size", batch_size, 1),
                                    ("max_restarts", max_restarts, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidParameterError(
                    f"The {param!r} parameter of RayOracle must be an int >= {least}. Got {value!r}.")
        for param, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if not isinstance(value, (int, float)) or value < 0:
                raise InvalidParameterError(
                    f"The {param!r} parameter of RayOracle must be a number >= 0. Got {value!r}.")
        super().__init__(fn, name=name, version=version, fields=fields, batch_size=batch_size)
        self.actors = actors
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.address = address
        self.max_restarts = max_restarts
        self._pool: list[Any] | None = None

    def _actors(self) -> list[Any]:
        if self._pool is None:
            from .engines import RayEngine

            RayEngine(self.address)  # connects (or reuses the connection)
            ray = import_ray()
            cls = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                             max_restarts=self.max_restarts, max_task_retries=-1,
                             scheduling_strategy="SPREAD")(_Model)  # one node lost, not all actors
            self._pool = [cls.remote(self.fn) for _ in range(self.actors)]
        return self._pool

    def __call__(self, rows: pd.DataFrame) -> Any:
        out: list[Any] = [None] * len(rows)
        for p, v in self.stream(rows):
            for i, x in zip(p.tolist(), list(v), strict=True):
                out[i] = x
        return np.asarray(out)

    def stream(self, rows: pd.DataFrame) -> Iterator[tuple[np.ndarray, Any]]:
        """Answers batch by batch, in the order they come back from the actors."""
        if len(rows) == 0:
            return
        ray = import_ray()
        pool = self._actors()
        size = self.batch_size or 64
        starts = list(range(0, len(rows), size))
        pending: dict[Any, int] = {}
        nxt = 0
        while nxt < len(starts) or pending:
            while nxt < len(starts) and len(pending) < 2 * len(pool):
                lo = starts[nxt]
                actor = pool[nxt % len(pool)]
                pending[actor.call.remote(rows.iloc[lo:lo + size])] = lo
                nxt += 1
            done, _ = ray.wait(list(pending), num_returns=1)
            lo = pending.pop(done[0])
            values = ray.get(done[0])
            yield np.arange(lo, lo + len(values)), values

    def shutdown(self) -> None:
        """Stop the actors (they also stop when the oracle is garbage collected)."""
        if self._pool is not None:
            ray = import_ray()
            for a in self._pool:
                ray.kill(a)
            self._pool = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_pool"] = None
        return state
