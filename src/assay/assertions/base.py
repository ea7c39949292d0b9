"""The assertion API of the paper, and the base class every assertion shares.

A *point* assertion looks at one unit of a model's work (a video frame, a table row) and
returns a float: 0 abstains, larger is more severe::

    def assertion(model_input, model_outputs) -> float

A *temporal* assertion looks at a window of recent frames::

    def assertion(model_inputs: list, model_outputs: list) -> float

Either may instead return one severity per output (an array as long as ``model_outputs``),
which makes each offending observation its own finding.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError, SchemaError
from ._frames import StreamInfo, slots_within

__all__ = [
    "Assertion",
    "Frame",
    "Outputs",
    "PointAssertion",
    "TemporalAssertion",
    "point_assertion",
    "temporal_assertion",
]


class Assertion(abc.ABC):
    """Base class: an assertion turns an observations table into findings.

    Subclasses implement :meth:`run`. Parameters are constructor arguments stored as
    attributes of the same name (the scikit-learn estimator convention), so
    :meth:`get_params` and ``repr`` show how an assertion was configured.

    What an assertion needs is declared by the attributes below, on its class (or, when it
    depends on parameters, as a property), never inferred from its name: a subclass, a
    renamed copy and a user's assertion run the same way. :func:`~assay.assertions.check`,
    :class:`~assay.assertions.Monitor` and a ``check`` of any subset of whole streams read
    only these, and produce the same findings when an assertion keeps its contract:

    - ``needs_observations``: True when it reads canonical observations (``check``
      validates them); False when any table of rows will do, each row judged on its own.
    - Windowed assertions (``track_level`` False): a finding whose last frame
      (``frame_end``) is frame slot ``t`` of its stream depends only on the stream's rows in
      slots ``t - slots_before(period)`` to ``t + frames_after``, where
      :meth:`slots_before` is ``frames_before`` plus the whole slots within
      ``seconds_before``. A monitor emits the finding once slot ``t + frames_after`` arrived.
    - Track-level assertions (``track_level`` True): a finding depends only on the rows of
      one track segment: rows of one stream with the same :meth:`identifiers` value, no two
      consecutive ones more than ``segment_gap`` seconds apart. A monitor emits its findings
      once the segment has ended (its track unseen for longer than ``segment_gap``).

    Beyond those rows a finding may use the stream's facts (:class:`StreamInfo`: stride,
    first and last frame, frame period), never other rows: ties are broken by the rows'
    own values, so a finding is the same whatever else the table holds.
    """

    #: Name used in findings; defaults to the snake-case class name.
    name: str = ""
    #: Whether the assertion reads canonical observations (False: any table of rows).
    needs_observations: bool = True
    #: Frame slots before a finding's last frame that it depends on.
    frames_before: int = 0
    #: Seconds before a finding's last frame that it depends on (on top of frames_before).
    seconds_before: float = 0.0
    #: Frame slots after a finding's last frame that it depends on.
    frames_after: int = 0
    #: Whether findings depend on whole track segments rather than on a window of frames.
    track_level: bool = False
    #: Seconds of absence that end a track segment (track-level assertions).
    segment_gap: float = float("inf")
    #: Columns the assertion needs.
    requires: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = "".join(
                "_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(cls.__name__)
            )

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters and their values."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self" and hasattr(self, p)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def check_columns(self, observations: pd.DataFrame) -> None:
        missing = [c for c in self.requires if c not in observations.columns]
        if missing:
            raise SchemaError(
                f"assertion {self.name!r} needs column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(c) for c in missing)}, which the observations lack."
            )

    def slots_before(self, period: float) -> int:
        """Frame slots before a finding's last frame that it depends on, in a stream whose
        slots are ``period`` seconds apart (0 while the period is unknown)."""
        return int(self.frames_before) + slots_within(self.seconds_before, period)

    def identifiers(self, observations: pd.DataFrame) -> pd.Series:
        """Per row, the track a track-level assertion groups it by (missing where none):
        the ``track`` column unless the assertion says otherwise."""
        if "track" in observations.columns:
            return observations["track"]
        return pd.Series(pd.NA, index=observations.index, dtype="Int64")

    def blind_spot(self, observations: pd.DataFrame) -> str | None:
        """Why this assertion cannot find anything in these observations, when the reason is
        structural (a column it groups by is empty), else None. :func:`check` reports it, so
        an empty result is never silent."""
        return None

    def blind_spot_part(self, observations: pd.DataFrame) -> Any:
        """What :meth:`blind_spot_of` needs to know of one group of streams, when a table is
        checked a group of streams at a time (a Parquet dataset, ``engine="ray"``).

        Default: the group's own :meth:`blind_spot` note.
        """
        return self.blind_spot(observations)

    def blind_spot_of(self, parts: list[Any]) -> str | None:
        """The note :meth:`blind_spot` would give for the whole table, from the
        :meth:`blind_spot_part` of each group of its streams.

        Default: the note every group gives (None when any group gives none or another).
        """
        first = parts[0] if parts else None
        return first if first is not None and all(p == first for p in parts) else None

    @abc.abstractmethod
    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        """Findings of this assertion on a validated observations table.

        ``info`` carries facts about the streams beyond these rows (strides, first and last
        frames, frame period); by default they are derived from the rows themselves.
        """


@dataclass(frozen=True)
class Frame:
    """The model input of a frame, as far as assay knows it: which frame of which stream."""

    stream: str
    frame: int
    time: float


class Outputs:
    """A light, read-only view of one unit's outputs: column arrays, sliced without copying.

    ``outputs.score`` or ``outputs["score"]`` is a numpy array; ``len(outputs)`` counts
    the rows; iterating yields one record per row with attribute access (``box.z``);
    ``to_frame()`` builds a pandas DataFrame when one is really wanted.
    """

    __slots__ = ("_cols", "_lo", "_hi")

    def __init__(self, cols: Mapping[str, np.ndarray], lo: int, hi: int) -> None:
        self._cols = cols
        self._lo = lo
        self._hi = hi

    def __len__(self) -> int:
        return self._hi - self._lo

    def __getitem__(self, column: str) -> np.ndarray:
        return self._cols[column][self._lo : self._hi]

    def __getattr__(self, column: str) -> np.ndarray:
        try:
            return self._cols[column][self._lo : self._hi]
        except KeyError:
            raise AttributeError(column) from None

    def __iter__(self) -> Iterator[Any]:
        names = list(self._cols)
        from collections import namedtuple

        row_t = namedtuple("Output", names, rename=True)  # type: ignore[misc]
        for i in range(self._lo, self._hi):
            yield row_t(*(self._cols[c][i] for c in names))

    def columns(self) -> list[str]:
        return list(self._cols)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({c: v[self._lo : self._hi] for c, v in self._cols.items()})

    def __repr__(self) -> str:
        return f"Outputs({len(self)} rows: {', '.join(self._cols)})"


class _UserAssertion(Assertion):
    """Common machinery of user-written Python assertions."""

    def __init__(self, func: Callable, *, name: str | None = None, unit: str = "frame",
                 inputs: Sequence[str] | None = None, columns: Sequence[str] | None = None) -> None:
        if not callable(func):
            raise InvalidParameterError(f"an assertion must be callable; got {func!r}.")
        if unit not in ("frame", "row"):
            raise InvalidParameterError(
                f"The 'unit' parameter of {type(self).__name__} must be one of {{'frame', 'row'}}. Got {unit!r}."
            )
        self.func = func
        self.name = name or getattr(func, "__name__", "assertion")
        self.unit = unit
        self.inputs = list(inputs) if inputs is not None else None
        self.columns = list(columns) if columns is not None else None

    def __call__(self, *args: Any) -> Any:
        return self.func(*args)

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        from .runner import run_assertion

        return run_assertion(self, observations, info)


class PointAssertion(_UserAssertion):
    """A user function ``f(model_input, model_outputs) -> float`` run on every unit.

    ``unit="frame"``: once per frame of every stream (frames with observations), with a
    :class:`Frame` and an :class:`Outputs` view of its observations. ``unit="row"``: once per
    row of any table (tabular models), with ``model_input`` the row's ``inputs`` columns and
    ``model_outputs`` the row's other ``columns`` (each a mapping of column to value).
    """

    scope = "frame"

    @property
    def needs_observations(self) -> bool:  # type: ignore[override]
        """Frames need observations; rows of any table will do."""
        return self.unit == "frame"


class TemporalAssertion(_UserAssertion):
    """A user function ``f(model_inputs: list, model_outputs: list) -> float`` over a window.

    At every frame of a stream, the window holds the last ``window`` frame slots up to and
    including it (or the frames within ``window_seconds``); frames with no observations are
    in the window with empty outputs. Severity is attributed to the window's last frame.
    """

    scope = "window"

    def __init__(self, func: Callable, *, window: int | None = None,
                 window_seconds: float | None = None, name: str | None = None,
                 columns: Sequence[str] | None = None) -> None:
        super().__init__(func, name=name, unit="frame", columns=columns)
        if (window is None) == (window_seconds is None):
            raise InvalidParameterError(
                "temporal_assertion needs exactly one of window= (frames) or window_seconds=."
            )
        if window is not None and not (isinstance(window, int) and window >= 1):
            raise InvalidParameterError(
                f"The 'window' parameter of temporal_assertion must be an int >= 1. Got {window!r}."
            )
        if window_seconds is not None and not window_seconds > 0:
            raise InvalidParameterError(
                f"The 'window_seconds' parameter of temporal_assertion must be > 0. Got {window_seconds!r}."
            )
        self.window = window
        self.window_seconds = window_seconds

    @property
    def frames_before(self) -> int:  # type: ignore[override]
        """The window's frames before its last one (``window - 1``)."""
        return self.window - 1 if self.window is not None else 0

    @property
    def seconds_before(self) -> float:  # type: ignore[override]
        """The window's length in seconds, when it was declared in seconds."""
        return self.window_seconds if self.window_seconds is not None else 0.0


def point_assertion(func: Callable | None = None, *, name: str | None = None, unit: str = "frame",
                    inputs: Sequence[str] | None = None, columns: Sequence[str] | None = None):
    """Declare a point assertion: ``f(model_input, model_outputs) -> float``.

    Examples
    --------
    >>> import assay
    >>> @assay.assertions.point_assertion
    ... def too_many_boxes(frame, boxes):
    ...     return max(0.0, len(boxes) - 30.0)
    >>> too_many_boxes.name
    'too_many_boxes'
    """
    def wrap(f: Callable) -> PointAssertion:
        return PointAssertion(f, name=name, unit=unit, inputs=inputs, columns=columns)

    return wrap(func) if func is not None else wrap


def temporal_assertion(func: Callable | None = None, *, window: int | None = None,
                       window_seconds: float | None = None, name: str | None = None,
                       columns: Sequence[str] | None = None):
    """Declare a temporal assertion: ``f(model_inputs: list, model_outputs: list) -> float``.

    Examples
    --------
    >>> import assay
    >>> @assay.assertions.temporal_assertion(window=3)
    ... def count_jumps(frames, outputs):
    ...     counts = [len(o) for o in outputs]
    ...     return float(max(counts) - min(counts) > 5)
    >>> count_jumps.window
    3
    """
    def wrap(f: Callable) -> TemporalAssertion:
        return TemporalAssertion(f, window=window, window_seconds=window_seconds, name=name,
                                 columns=columns)

    return wrap(func) if func is not None else wrap
