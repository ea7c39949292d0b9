"""What every command shares: errors that speak CLI, opening workspaces, JSON output.

Errors raised by the Python API name Python parameters (``replace=True``, ``The 'fps'
parameter of read_mot``). :class:`AssayCommand` rewrites them in terms of the command's own
flags before they are printed, so a user of the command line reads ``--replace`` and
``--fps``. Errors in a user's own code (an assertions file) are shown with the user's file and
line, not assay's frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..exceptions import AssayError

__all__ = ["AssayCommand", "AssayGroup", "CliError", "about", "emit_json", "engine_options", "open_workspace",
           "to_cli"]


#: Seconds a command waits for a workspace another process has open (``assay review`` opens
#: it for each request only, so a command gets it between requests).
WAIT = 10.0


class CliError(AssayError):
    """An error already worded for the command line (flags, not Python parameters)."""

    #: Exit status: 2 for errors (bad input), 1 for a check that failed a gate.
    exit_code = 2


#: Python parameters whose flag has another name, for every command.
_ALWAYS = {"discard_results": "--discard-results", "image_size": "--image-size"}

_PARAM_OF = re.compile(r"The '(?P<param>\w+)' parameter of (?P<owner>[\w.]+)")
_ASSIGN = re.compile(
    r"(?<![\w.-])(?P<param>[a-z_][a-z0-9_]*)=(?P<value>True|False|None|\.\.\.|\([^)]*\)|"
    r"\[[^\]]*\]|'[^']*'|\"[^\"]*\"|[\w.:/-]+)?"
)


def flag_names(command: click.Command) -> dict[str, str]:
    """Python parameter name -> the command's flag (its longest option string), with the
    option's metavar after a space when it takes a value (``"--range LO HI"``)."""
    out = dict(_ALWAYS)
    for p in command.params:
        if isinstance(p, click.Option) and p.name:
            flag = max(p.opts, key=len)
            if p.metavar and not p.is_flag:
                flag = f"{flag} {p.metavar}"
            out[p.name] = flag
    out.update(getattr(command, "aliases", {}) or {})
    return out


def to_cli(text: str, flags: dict[str, str]) -> str:
    """Reword an API error for the command line: parameters become the flags that set them.

    Examples
    --------
    >>> from assay.cli._common import to_cli
    >>> to_cli("already has a table named 'a'; pass replace=True to overwrite it",
    ...        {"replace": "--replace"})
    "already has a table named 'a'; pass --replace to overwrite it"
    >>> to_cli("The 'value' parameter of select must be a float in (0, 1). Got 1.5.",
    ...        {"value": "--recall"})
    '--recall must be a float in (0, 1). Got 1.5.'
    >>> to_cli("aggregate needs range=(lo, hi): ...", {"range": "--range LO HI"})
    'aggregate needs --range LO HI: ...'
    """
    from ..assertions.registry import BUILTINS

    by_class = {cls.__name__: name for name, cls in BUILTINS.items()}

    def name_only(param: str) -> str:
        return flags[param].split(" ")[0]

    def param_of(m: re.Match) -> str:
        param, owner = m.group("param"), m.group("owner")
        if owner in by_class:
            return f"--set {by_class[owner]}.{param}"
        return name_only(param) if param in flags else m.group(0)

    def assign(m: re.Match) -> str:
        param, value = m.group("param"), m.group("value")
        if param not in flags:
            return m.group(0)
        if value in (None, "True"):
            return name_only(param)
        if value == "False":
            return f"no {name_only(param)}"
        if value == "..." or value.startswith(("(", "[")):
            return flags[param]  # a placeholder: the flag and its metavar
        return f"{name_only(param)} {value.strip(chr(39) + chr(34))}"

    text = _PARAM_OF.sub(param_of, text)
    return _ASSIGN.sub(assign, text)


def _user_code(exc: BaseException) -> str | None:
    """The user's part of a traceback (frames outside assay and the Python installation)."""
    import traceback

    from ..exceptions import is_user_file

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    if not frames:
        return None
    return "".join(traceback.format_list(frames)) + f"{type(exc).__name__}: {exc}"


class AssayCommand(click.Command):
    """A command whose API errors are reworded in terms of its flags (see :func:`to_cli`).

    ``aliases`` maps Python parameter names to flags when they differ from the command's own
    option names (``{"value": "--recall / --precision"}``).
    """

    def __init__(self, *args: Any, aliases: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def invoke(self, ctx: click.Context) -> Any:
        return _reworded(self, ctx, super().invoke)


class AssayGroup(click.Group):
    """A group whose own callback's errors are reworded; subcommands are :class:`AssayCommand`."""

    command_class = AssayCommand

    def __init__(self, *args: Any, aliases: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def invoke(self, ctx: click.Context) -> Any:
        return _reworded(self, ctx, super().invoke)


AssayGroup.group_class = AssayGroup


def _reworded(command: click.Command, ctx: click.Context, call: Any) -> Any:
    try:
        return call(ctx)
    except CliError:
        raise
    except AssayError as exc:
        from ..exceptions import UserCodeError

        text = to_cli(str(exc), flag_names(command))
        err = CliError(text)
        if isinstance(exc, UserCodeError):
            err.user_traceback = exc.user_traceback  # type: ignore[attr-defined]
        raise err from exc
    except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        user = _user_code(exc)
        if user is None:
            raise  # a bug in assay: keep the whole traceback
        err = CliError(f"your code raised {type(exc).__name__}: {exc}")
        err.user_traceback = user  # type: ignore[attr-defined]
        raise err from exc


@contextmanager
def about(flag: str, value: Any = None) -> Any:
    """Errors raised in the block are about ``flag`` (and its ``value``): say so, unless the
    message, reworded for the command line, already names a flag."""
    try:
        yield
    except CliError:
        raise
    except AssayError as exc:
        ctx = click.get_current_context(silent=True)
        text = to_cli(str(exc), flag_names(ctx.command)) if ctx is not None else str(exc)
        if not re.search(r"(?<![\w-])--[a-z]", text):
            text = f"{flag if value is None else f'{flag} {value}'}: {text}"
        raise CliError(text) from exc


def report(exc: CliError) -> None:
    """Print a command-line error: one red line, after the user's frames when their code failed."""
    from rich.markup import escape

    from ._main import err

    user = getattr(exc, "user_traceback", None)
    if user:
        err.print("in your code:", style="bold", highlight=False)
        err.print(user, highlight=False, markup=False, soft_wrap=True)
    err.print("[bold red]error:[/] " + escape(str(exc)), highlight=False, soft_wrap=True)


@contextmanager
def open_workspace(path: str | Path, *, create: bool = False, read_only: bool = False) -> Any:
    """Open a workspace for a command.

    Without ``create``, a missing file is an error (a typo in ``-w`` must not make an empty
    workspace). A workspace migrated from an older format says so. On a normal exit from the
    block the workspace is checkpointed, so a command reports success only once its data is in
    the file; when that fails the error says the data is safe in the write-ahead log.
    """
    from ..store import Workspace

    p = Path(path)
    if not create and str(path) != ":memory:" and not p.exists():
        raise CliError(
            f"{p}: no such workspace. Pass the workspace file with -w/--workspace, or create one "
            "with `assay ingest`.")
    ws = Workspace(p, read_only=read_only, wait=WAIT)
    try:
        if ws.migrated_from is not None:
            from ._main import notes

            notes.print(f"migrated workspace {p} from format {ws.migrated_from} to the current one",
                      highlight=False)
        yield ws
        if not read_only:
            ws.checkpoint()
    finally:
        ws.close()


def engine_options(*, groups: bool = True) -> Callable[[Callable], Callable]:
    """``--engine`` and ``--address`` (where per-stream work runs, see :mod:`assay.engine`),
    and with ``groups`` ``--rows-per-group``."""

    def add(command: Callable) -> Callable:
        if groups:
            command = click.option(
                "--rows-per-group", type=click.IntRange(min=1), default=None, metavar="N",
                help="Read the table a group of streams at a time, about N rows per group "
                     "(tables larger than memory; default 2,000,000 with --engine ray).")(command)
        command = click.option(
            "--address", default=None, metavar="ADDR",
            help="The Ray cluster for --engine ray (default: $RAY_ADDRESS, else a local one).")(command)
        return click.option(
            "--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
            help="Run the per-stream work here, or as tasks of a Ray cluster "
                 "(pip install 'assay[ray]').")(command)

    return add


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one line of JSON (numpy values, dates and paths converted)."""
    from ..store._util import json_default

    click.echo(json.dumps(obj, default=json_default))


def quiet() -> bool:
    """Whether the user asked for no progress output (``assay --quiet``)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and (root.obj or {}).get("quiet"))
