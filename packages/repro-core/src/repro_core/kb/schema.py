"""JSON rows -> frozen dataclass records, checked against the record's type hints.

A row that does not fit (a missing or unknown key, a value of the wrong type, a string that
does not match its field's ``pattern`` metadata) is a ReproError on one line naming the file,
the row and the field: ``.../gpus.json: families[3] (Volta): field cc[1]: expected a compute
capability such as 8.9, got '7.x'``. Keys starting with ``_`` are comments. Supported hints:
str, int, bool, nested records, ``Optional[T]``, ``Tuple[T, ...]``, ``FrozenSet[str]`` and
``Dict[str, T]``.
"""

import dataclasses
import re
import sys
from functools import lru_cache
from typing import Any, Dict, Optional, Sequence, Tuple, Type, TypeVar, Union

from repro_core.errors import ReproError

T = TypeVar("T")

VERSION = r"\d+(\.\d+)*"
CC = r"\d+\.\d"


def pattern(regex: str, what: str, **kw: Any) -> Any:
    """A dataclass field whose strings must fully match ``regex`` (``what`` names the form)."""
    return dataclasses.field(metadata={"pattern": regex, "what": what}, **kw)


class _Bad(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(problem)
        self.path, self.problem = path, problem


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@lru_cache(maxsize=None)
def _hints(cls: type) -> Dict[str, Any]:
    import typing

    return typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))


def _convert(hint: Any, value: Any, meta: Any) -> Any:
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union:
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, meta)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _Bad("", f"expected an object, got {_short(value)}")
        return _build(hint, value)
    if origin in (tuple, frozenset):
        if not isinstance(value, (list, tuple)):
            raise _Bad("", f"expected a list, got {_short(value)}")
        items = []
        for i, v in enumerate(value):
            try:
                items.append(_convert(args[0], v, meta))
            except _Bad as e:
                raise _Bad(f"[{i}]{e.path}", e.problem) from None
        return tuple(items) if origin is tuple else frozenset(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise _Bad("", f"expected an object, got {_short(value)}")
        out = {}
        for k, v in value.items():
            try:
                out[k] = _convert(args[1], v, meta)
            except _Bad as e:
                raise _Bad(f"[{k!r}]{e.path}", e.problem) from None
        return out
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _Bad("", f"expected an integer, got {_short(value)}")
    if hint is bool and not isinstance(value, bool):
        raise _Bad("", f"expected true or false, got {_short(value)}")
    if hint is str:
        if not isinstance(value, str):
            raise _Bad("", f"expected a string, got {_short(value)}")
        if meta.get("pattern") and not re.fullmatch(meta["pattern"], value):
            raise _Bad("", f"expected {meta['what']}, got {_short(value)}")
    return value


def _build(cls: Type[T], row: Dict[str, Any]) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(k for k in set(row) - set(fields) if not k.startswith("_"))
    if unknown:
        raise _Bad(f".{unknown[0]}", f"unknown field (known: {', '.join(fields)})")
    hints = _hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name not in row:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Bad(f".{name}", "missing")
            continue
        try:
            kwargs[name] = _convert(hints[name], row[name], f.metadata)
        except _Bad as e:
            raise _Bad(f".{name}{e.path}", e.problem) from None
    return cls(**kwargs)  # type: ignore[call-arg]


def records(cls: Type[T], rows: Any, file: str, table: str,
            key: Optional[str] = "version") -> Tuple[T, ...]:
    """Each row of ``rows`` (a JSON list) as a ``cls``; ``key`` names a row in errors."""
    if not isinstance(rows, list):
        raise ReproError(f"{file}: {table}: expected a list of rows, got {_short(rows)}")
    return tuple(record(cls, row, file, f"{table}[{i}]", key) for i, row in enumerate(rows))


def record(cls: Type[T], row: Any, file: str, where: str, key: Optional[str] = None) -> T:
    """One JSON object as a ``cls``; ReproError ``FILE: WHERE (KEY): field F: problem``."""
    label = where
    if isinstance(row, dict) and key and isinstance(row.get(key), str):
        label += f" ({row[key]})"
    if not isinstance(row, dict):
        raise ReproError(f"{file}: {label}: expected an object, got {_short(row)}")
    try:
        return _build(cls, row)
    except _Bad as e:
        raise ReproError(f"{file}: {label}: field {e.path.lstrip('.')}: {e.problem}") from None


def strings(value: Any, file: str, where: str) -> Tuple[str, ...]:
    """A JSON list of strings as a tuple; ReproError naming the entry otherwise."""
    if not isinstance(value, list):
        raise ReproError(f"{file}: {where}: expected a list of strings, got {_short(value)}")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise ReproError(f"{file}: {where}[{i}]: expected a string, got {_short(v)}")
    return tuple(value)


__all__: Sequence[str] = ("CC", "VERSION", "pattern", "record", "records", "strings")
