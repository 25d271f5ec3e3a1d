"""Typed settings to and from plain data.

Settings travel from the Snakefile to a rule's script as plain dicts in `params:`: Snakemake
compares a rule's params by their `repr` to decide what a config edit re-runs, and a plain
dict also unpickles in an environment where devfer is not installed (`--use-conda`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def to_params(settings: Any) -> dict[str, Any]:
    """A settings object as a plain, ordered dict (field order: a stable repr)."""
    return dataclasses.asdict(settings)


def _revive(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _revive(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
        return from_params(kind, value)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_revive(args[0], v) for v in value)
        return tuple(_revive(a, v) for a, v in zip(args, value, strict=True))
    return value


def from_params(cls: type[T], data: Mapping[str, Any]) -> T:
    """The settings object back from `to_params` output (nested dataclasses and tuples)."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: _revive(hints[k], v) for k, v in data.items() if k in names})
