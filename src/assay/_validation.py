"""Declarative validation of public parameters.

Public functions declare what each parameter accepts with :func:`validate_params`; private
functions trust their input. Every failure reads the same way::

    The 'delta' parameter of select must be a float in (0, 1). Got 1.5.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .exceptions import InvalidParameterError

__all__ = ["Interval", "Options", "StrOptions", "check_random_state", "validate_params"]


class Interval:
    """Numbers of a kind in a range, e.g. ``Interval(float, 0, 1, closed="neither")``."""

    def __init__(
        self,
        kind: type,
        left: float | None,
        right: float | None,
        *,
        closed: str = "both",
    ) -> None:
        if kind not in (int, float):
            raise TypeError("Interval kind must be int or float")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"bad closed={closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def __contains__(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        ok_type = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, ok_type):
            return False
        if self.kind is float and np.isnan(value):
            return False
        lo_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        hi_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        noun = "an int" if self.kind is int else "a float"
        if self.left is None and self.right is None:
            return noun
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        left = "-inf" if self.left is None else _fmt(self.left)
        right = "inf" if self.right is None else _fmt(self.right)
        return f"{noun} in {lb}{left}, {right}{rb}"


class Options:
    """One of a fixed set of values."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def __contains__(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of {" + ", ".join(repr(v) for v in self.values) + "}"


StrOptions = Options


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, (Interval, Options)):
        return str(constraint)
    if constraint == "random_state":
        return "an int, a numpy.random.Generator or None"
    if constraint == "path":
        return "a str or os.PathLike"
    if constraint is callable:
        return "a callable"
    if isinstance(constraint, type):
        article = "an" if constraint.__name__[0].lower() in "aeiou" else "a"
        return f"{article} {constraint.__module__ + '.' if constraint.__module__ not in ('builtins',) else ''}{constraint.__name__}"
    return str(constraint)


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, (Interval, Options)):
        return value in constraint
    if constraint == "random_state":
        return (
            value is None
            or isinstance(value, np.random.Generator)
            or isinstance(value, np.random.SeedSequence)
            or (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0)
        )
    if constraint == "path":
        import os

        return isinstance(value, (str, os.PathLike))
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        if constraint is int and isinstance(value, bool):
            return False
        return isinstance(value, constraint)
    raise TypeError(f"unknown constraint {constraint!r}")


def check_param(name: str, value: Any, constraints: list[Any], caller: str) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` meets one of ``constraints``."""
    if any(_satisfies(value, c) for c in constraints):
        return
    described = [_describe(c) for c in constraints]
    if len(described) > 1:
        expected = ", ".join(described[:-1]) + " or " + described[-1]
    else:
        expected = described[0]
    raise InvalidParameterError(
        f"The {name!r} parameter of {caller} must be {expected}. Got {value!r}."
    )


def validate_params(constraints: dict[str, list[Any]]) -> Callable:
    """Decorate a public function so its parameters are checked on every call.

    Parameters not named in ``constraints`` are not checked.
    """

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)
        unknown = set(constraints) - set(sig.parameters)
        if unknown:
            raise TypeError(f"{func.__name__}: constraints for unknown parameters {unknown}")

        # a constructor is named by its class, as users call it: "parameter of Flicker"
        parts = func.__qualname__.split(".")
        caller = parts[-2] if func.__name__ == "__init__" and len(parts) > 1 else func.__name__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            for name, value in bound.arguments.items():
                if name in constraints:
                    check_param(name, value, constraints[name], caller)
            return func(*args, **kwargs)

        wrapper.__assay_constraints__ = constraints  # type: ignore[attr-defined]
        return wrapper

    return decorate


def check_random_state(seed: Any) -> np.random.Generator:
    """Turn ``None``, an int, a SeedSequence or a Generator into a ``numpy.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
