"""The workspace: a DuckDB file holding tables, oracle labels and runs.

See :class:`Workspace`.
"""

from __future__ import annotations

from .workspace import Workspace

__all__ = ["Workspace"]
