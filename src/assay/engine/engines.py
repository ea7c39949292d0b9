"""Where per-stream work runs: in this process, a group of streams at a time (``"local"``),
or as tasks of a Ray cluster (``"ray"``).

An engine maps a function over groups of streams and returns the results in the order of the
groups, so whatever the driver does with them (concatenating, sorting, fitting priors) does not
depend on the engine. The function and what every group shares (fitted priors, assertions)
are sent to the workers once (``ray.put``).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import InvalidParameterError, MissingDependencyError
from .streams import Streams, read_part

__all__ = ["Engine", "LocalEngine", "RayEngine", "get_engine", "import_ray"]

#: The engines ``engine=`` names.
ENGINES = ("local", "ray")


def import_ray() -> Any:
    """``import ray``, or an error that names the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            f"engine='ray' needs Ray, which is not installed ({exc}): pip install 'assay[ray]'"
        ) from None
    return ray


class Engine(abc.ABC):
    """Runs ``fn(rows, shared)`` on the rows of each group of streams."""

    #: The name ``engine=`` takes.
    name: str = ""
    #: Whether groups run in other processes (shipped there), rather than in this one.
    distributed: bool = False

    @abc.abstractmethod
    def map(self, fn: Callable[[Any, Any], Any], streams: Streams, groups: Sequence[Sequence[str]],
            shared: Any = None) -> list[Any]:
        """``[fn(rows of group, shared) for group in groups]``, in the order of ``groups``."""

    def workers(self) -> int:
        """How many groups it runs at once."""
        return 1


class LocalEngine(Engine):
    """This process, one group of streams after another (a table larger than memory is read
    from its Parquet files or workspace a group at a time).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.engine import LocalEngine, Streams
    >>> s = Streams.from_frame(pd.DataFrame({"stream": ["a", "b", "b"]}))
    >>> LocalEngine().map(lambda rows, k: len(rows) * k, s, [["a"], ["b"]], 10)
    [10, 20]
    """

    name = "local"

    def map(self, fn, streams, groups, shared=None):
        return [fn(streams.read(g), shared) for g in groups]


def _run_group(fn: Callable[[Any, Any], Any], part: tuple, shared: Any) -> Any:
    """A Ray task: read one group where it lies, run ``fn`` on it."""
    return fn(read_part(part), shared)


class RayEngine(Engine):
    """Tasks on a Ray cluster: one task per group of streams.

    Parameters
    ----------
    address : str, optional
        The cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); by default the
        cluster ``RAY_ADDRESS`` names, else a Ray instance started on this machine. When Ray is
        already initialized in this process, that connection is used.
    max_in_flight : int, optional
        Groups shipped to the cluster but not yet done (default: twice its CPUs), so a table
        read on the driver (a DataFrame, a workspace table) is not all in the object store at
        once; Parquet groups are read by the workers themselves.
    """

    name = "ray"
    distributed = True

    def __init__(self, address: str | None = None, *, max_in_flight: int | None = None) -> None:
        self.address = address
        self.max_in_flight = max_in_flight
        self._ray = import_ray()
        if not self._ray.is_initialized():
            target = address or os.environ.get("RAY_ADDRESS")
            if target is None:  # a Ray instance of this process: quiet, no dashboard
                self._ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:  # someone's cluster: as Ray connects by default
                self._ray.init(address=target)

    def workers(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(self, fn, streams, groups, shared=None):
        ray = self._ray
        task = ray.remote(max_retries=5, retry_exceptions=False)(_run_group)
        fn_ref = ray.put(fn)
        shared_ref = ray.put(shared)
        limit = self.max_in_flight or 2 * self.workers()
        pending: dict[Any, int] = {}
        results: list[Any] = [None] * len(groups)
        todo = iter(enumerate(groups))
        for i, g in todo:
            pending[task.remote(fn_ref, streams.part(g), shared_ref)] = i
            while len(pending) >= limit or (pending and i == len(groups) - 1):
                done, _ = ray.wait(list(pending), num_returns=1)
                results[pending.pop(done[0])] = ray.get(done[0])
        return results


def get_engine(engine: str | Engine = "local", address: str | None = None, *,
               caller: str = "check") -> Engine:
    """The engine ``engine=`` names (an :class:`Engine` is returned as it is).

    Examples
    --------
    >>> from assay.engine import get_engine
    >>> get_engine("local").name
    'local'
    >>> get_engine("spark")
    Traceback (most recent call last):
    ...
    assay.exceptions.InvalidParameterError: The 'engine' parameter of check must be one of 'local', 'ray'. Got 'spark'.
    """
    if isinstance(engine, Engine):
        return engine
    if engine == "local":
        if address is not None:
            raise InvalidParameterError(
                f"The 'address' parameter of {caller} names a Ray cluster; it needs engine='ray'. "
                f"Got address={address!r} with engine='local'.")
        return LocalEngine()
    if engine == "ray":
        return RayEngine(address)
    raise InvalidParameterError(
        f"The 'engine' parameter of {caller} must be one of {', '.join(map(repr, ENGINES))}. "
        f"Got {engine!r}.")
