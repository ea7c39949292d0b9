"""Naming assertions in text: ``builtin:flicker``, or a Python file of user assertions."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

from ..exceptions import InvalidParameterError, UserCodeError
from .base import Assertion
from .builtin import (
    Appear,
    ClassSwitch,
    Flicker,
    Flying,
    Gap,
    Multibox,
    NoRepeatedWords,
    OutputRange,
    TooFast,
)

__all__ = ["BUILTINS", "load_assertions", "resolve"]

#: Built-in assertions by name.
BUILTINS: dict[str, type[Assertion]] = {
    cls.name: cls
    for cls in (Flicker, Gap, Multibox, ClassSwitch, Appear, Flying, TooFast, NoRepeatedWords, OutputRange)
}
#: What ``builtin:video`` and ``builtin:3d`` expand to.
GROUPS = {
    "video": ["flicker", "gap", "multibox", "class_switch", "appear"],
    "3d": ["flying", "too_fast"],
}


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_settings(settings: list[str]) -> dict[str, dict[str, Any]]:
    """``["flicker.iou=0.5", "output_range.column=price"]`` -> ``{"flicker": {"iou": 0.5}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        name, dot, param = key.partition(".")
        if not sep or not dot or not name or not param:
            raise InvalidParameterError(
                f"a setting must read NAME.PARAM=VALUE (e.g. flicker.iou=0.5); got {item!r}.")
        out.setdefault(name.strip(), {})[param.strip()] = _value(value.strip())
    return out


def load_assertions(path: str | Path) -> list[Assertion]:
    """The assertions a Python file defines: an ``ASSERTIONS`` list, else every module-level
    :class:`Assertion` (functions decorated with ``@point_assertion`` are)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidParameterError(f"{p}: no such assertions file.")
    spec = importlib.util.spec_from_file_location(f"assay_user_{p.stem}", p)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # the user's file failed to load: show their line, not ours
        raise UserCodeError.from_exception(exc, f"loading assertions file {p}") from exc
    found = getattr(module, "ASSERTIONS", None)
    if found is None:
        found = [v for v in vars(module).values() if isinstance(v, Assertion)]
    if not found:
        raise InvalidParameterError(
            f"{p} defines no assertions (decorate functions with @point_assertion / "
            f"@temporal_assertion, or define ASSERTIONS = [...]).")
    return list(found)


def _parameters(cls: type) -> list[str]:
    """The keyword parameters an assertion class takes."""
    sig = inspect.signature(cls)
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def resolve(spec: str, settings: list[str] | None = None) -> list[Assertion]:
    """Assertions named by a comma-separated spec of ``builtin:NAME`` and ``path.py`` items.

    Examples
    --------
    >>> from assay.assertions.registry import resolve
    >>> resolve("builtin:flicker,builtin:gap", ["flicker.iou=0.5"])
    [Flicker(iou=0.5, class_aware=True, classes=None), Gap(iou=0.5, iou_middle=None, class_aware=True)]
    """
    params = parse_settings(settings or [])
    out: list[Assertion] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item.startswith("builtin:"):
            name = item.removeprefix("builtin:")
            for n in GROUPS.get(name, [name]):
                if n not in BUILTINS:
                    raise InvalidParameterError(
                        f"unknown built-in assertion {n!r}; choose from {', '.join(BUILTINS)} "
                        f"or the groups {', '.join(GROUPS)}.")
                given = params.pop(n, {})
                accepted = _parameters(BUILTINS[n])
                unknown = sorted(set(given) - set(accepted))
                if unknown:
                    raise InvalidParameterError(
                        f"setting {n}.{unknown[0]}: builtin:{n} has no parameter {unknown[0]!r}; "
                        f"its parameters are {', '.join(accepted)}.")
                out.append(BUILTINS[n](**given))
        elif item.endswith(".py"):
            out.extend(load_assertions(item))
        else:
            raise InvalidParameterError(
                f"cannot read assertion {item!r}: use builtin:NAME or a path to a .py file.")
    if params:
        raise InvalidParameterError(
            f"settings for assertions that are not run: {', '.join(sorted(params))}.")
    return out
