"""Errors that the user caused: each names what went wrong and where.

The CLI prints them as one line and exits with status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class TteError(Exception):
    """A problem with the user's input (file, model, scheme, board)."""

    def __init__(self, message: str, *, file: str | None = None, node: str | None = None) -> None:
        self.message = message
        self.file = file
        self.node = node
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.node:
            where.append(f"node '{self.node}'")
        return f"{': '.join(where)}: {self.message}" if where else self.message

    def at(self, *, file: str | None = None, node: str | None = None) -> TteError:
        """Fill in location fields that are still empty and return self."""
        if file and not self.file:
            self.file = file
        if node and not self.node:
            self.node = node
        self.args = (self.__str__(),)
        return self


class ModelFormatError(TteError):
    """The file is not a readable model of the claimed format (truncated, garbage)."""


class UnsupportedOpError(TteError):
    """The model uses operators or attributes that tte does not implement."""

    def __init__(self, ops: list[str] | str, *, file: str | None = None, node: str | None = None,
                 detail: str = "") -> None:
        self.ops = [ops] if isinstance(ops, str) else sorted(set(ops))
        msg = "unsupported op" + ("s" if len(self.ops) > 1 else "") + ": " + ", ".join(self.ops)
        if detail:
            msg += f" ({detail})"
        super().__init__(msg, file=file, node=node)


class GraphError(TteError):
    """The graph is inconsistent: dangling tensors, shape or dtype mismatches."""
