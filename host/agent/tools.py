"""Tools are plain typed Python functions; their JSON schema comes from the signature and docstring.

Supported parameter types: str (bounded length), int, float, bool, and `Literal[...]` of strings
(an enum). Lengths and integer ranges come from `Annotated[str, MaxLen(n)]` / `Annotated[int, Range(a, b)]`
so the grammar can bound every value it lets the model write.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_LEN = 48
INT_LIMIT = 10**9 - 1


class ToolError(Exception):
    """A tool refused or failed; the message goes back to the model as the tool's result."""


@dataclass(frozen=True)
class MaxLen:
    n: int


@dataclass(frozen=True)
class Range:
    lo: int
    hi: int


@dataclass(frozen=True)
class Param:
    """One argument: its JSON type plus the bounds the grammar enforces."""

    name: str
    type: str  # "string" | "integer" | "number" | "boolean"
    required: bool
    default: Any = None
    enum: tuple[str, ...] = ()
    max_len: int = DEFAULT_MAX_LEN
    lo: int = -INT_LIMIT
    hi: int = INT_LIMIT
    description: str = ""

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": self.type}
        if self.enum:
            s["enum"] = list(self.enum)
        elif self.type == "string":
            s["maxLength"] = self.max_len
        elif self.type == "integer":
            s["minimum"], s["maximum"] = self.lo, self.hi
        if self.description:
            s["description"] = self.description
        return s


@dataclass
class Tool:
    name: str
    fn: Callable[..., Any]
    description: str
    params: tuple[Param, ...]
    timeout: float = 2.0
    tags: frozenset[str] = field(default_factory=frozenset)

    def schema(self) -> dict[str, Any]:
        """The OpenAI/JSON-Schema style function description (also shown to few-shot models)."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": {
                "type": "object",
                "properties": {p.name: p.schema() for p in self.params},
                "required": [p.name for p in self.params if p.required],
                "additionalProperties": False,
            },
        }

    def validate(self, args: Any) -> dict[str, Any]:
        """Check `args` against the schema (the grammar already guarantees it; this is the policy's
        second line of defence) and fill defaults. Raises ToolError naming the problem."""
        if not isinstance(args, dict):
            raise ToolError(f"{self.name}: args must be an object")
        known = {p.name: p for p in self.params}
        extra = set(args) - set(known)
        if extra:
            raise ToolError(f"{self.name}: unknown argument(s) {sorted(extra)}")
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name not in args:
                if p.required:
                    raise ToolError(f"{self.name}: missing required argument {p.name!r}")
                out[p.name] = p.default
                continue
            out[p.name] = _check_value(self.name, p, args[p.name])
        return out


def _check_value(tool: str, p: Param, v: Any) -> Any:
    bad = ToolError(f"{tool}: argument {p.name!r} must be {p.schema()}, got {v!r}")
    if p.type == "string":
        if not isinstance(v, str) or len(v) > p.max_len or (p.enum and v not in p.enum):
            raise bad
    elif p.type == "integer":
        if isinstance(v, bool) or not isinstance(v, int) or not p.lo <= v <= p.hi:
            raise bad
    elif p.type == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad
        v = float(v)
    elif p.type == "boolean" and not isinstance(v, bool):
        raise bad
    return v


_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _param(name: str, annotation: Any, default: Any, doc: str) -> Param:
    required = default is inspect.Parameter.empty
    extras: tuple[Any, ...] = ()
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *rest = typing.get_args(annotation)
        extras = tuple(rest)
    kw: dict[str, Any] = {"name": name, "required": required, "description": doc}
    if not required:
        kw["default"] = default
    if typing.get_origin(annotation) is typing.Literal:
        values = typing.get_args(annotation)
        if not values or not all(isinstance(v, str) for v in values):
            raise TypeError(f"parameter {name!r}: Literal values must be strings")
        for v in values:  # the grammar spells enums inside a JSON string: printable ASCII, no escapes
            if not v or any(not (" " <= c <= "~") or c in '"\\' for c in v):
                raise TypeError(
                    f"parameter {name!r}: enum value {v!r} must be non-empty printable ASCII "
                    "without quotes or backslashes"
                )
        kw |= {"type": "string", "enum": tuple(values), "max_len": max(map(len, values))}
    elif annotation in _SIMPLE:
        kw["type"] = _SIMPLE[annotation]
    else:
        raise TypeError(
            f"parameter {name!r}: unsupported type {annotation!r} (str, int, float, bool, Literal)"
        )
    for e in extras:
        if isinstance(e, MaxLen):
            kw["max_len"] = e.n
        elif isinstance(e, Range):
            kw["lo"], kw["hi"] = e.lo, e.hi
    return Param(**kw)


def _parse_doc(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph = description; lines `name: text` under `Args:` describe parameters."""
    lines = inspect.cleandoc(doc or "").splitlines()
    desc: list[str] = []
    params: dict[str, str] = {}
    in_args = False
    for line in lines:
        s = line.strip()
        if s.lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
        elif in_args and ":" in s:
            k, _, v = s.partition(":")
            params[k.strip()] = v.strip()
        elif not in_args and s:
            desc.append(s)
    return " ".join(desc), params


def tool_from_function(fn: Callable[..., Any], name: str | None = None, timeout: float = 2.0) -> Tool:
    """Build a Tool from a function's signature (type hints) and docstring."""
    hints = typing.get_type_hints(fn, include_extras=True)
    desc, pdocs = _parse_doc(fn.__doc__ or "")
    params = []
    for pname, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{fn.__name__}: *args/**kwargs cannot be described by a schema")
        if pname not in hints:
            raise TypeError(f"{fn.__name__}: parameter {pname!r} needs a type hint")
        params.append(_param(pname, hints[pname], p.default, pdocs.get(pname, "")))
    return Tool(name or fn.__name__, fn, desc, tuple(params), timeout)


class ToolRegistry:
    """The tools a session may call; the grammar is built from exactly this set."""

    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}

    def register(
        self, fn: Callable[..., Any] | None = None, *, name: str | None = None, timeout: float = 2.0
    ) -> Any:
        """Use as `@reg.register` or `@reg.register(timeout=1.0)`, or call `reg.register(fn)`."""

        def add(f: Callable[..., Any]) -> Callable[..., Any]:
            t = tool_from_function(f, name, timeout)
            if not t.name.replace("_", "").isalnum() or not t.name.isascii():
                raise ValueError(f"tool name {t.name!r}: use ASCII letters, digits and _")
            if t.name in self.tools:
                raise ValueError(f"tool {t.name!r} is already registered")
            self.tools[t.name] = t
            return f

        return add(fn) if fn is not None else add

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def __getitem__(self, name: str) -> Tool:
        return self.tools[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.tools.values())

    def __len__(self) -> int:
        return len(self.tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self.tools.values()]

    def subset(self, names: list[str]) -> ToolRegistry:
        r = ToolRegistry()
        r.tools = {n: self.tools[n] for n in names}
        return r
