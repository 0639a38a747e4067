"""The output language as a character automaton built from the tool registry.

Every model output is one compact JSON object, keys in schema order, no whitespace:

    {"tool":"NAME","args":{"k":V,...}}      a call of a registered tool, arguments valid for its schema
    {"answer":"TEXT"}                        the final answer

Strings are printable ASCII without `"` or `\\` (so no escapes) and bounded in length; integers are
exactly within the schema's range; enums are spelled out; optional keys may be left out. States are
small hashable tuples, so the token-level layer (`constrain`) can memoize per-state vocabulary masks.
A state the automaton accepts is a complete output: nothing may follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

from zynpu.agent.tools import Param, ToolRegistry

STRING_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
DIGITS = frozenset("0123456789")
ANSWER_MAX_LEN = 64

State = tuple  # (node id, data): data is the matched prefix (choice), a count (str) or digits (int/num)


@dataclass(frozen=True)
class Choice:
    options: tuple[tuple[str, int], ...]  # (literal text, next node); no option is a prefix of another


@dataclass(frozen=True)
class Str:
    max_len: int
    next: int  # entered on the closing quote


@dataclass(frozen=True)
class Int:
    lo: int
    hi: int
    next: int  # the next node's first character ends the number


@dataclass(frozen=True)
class Num:
    next: int
    int_digits: int = 6
    frac_digits: int = 3


@dataclass(frozen=True)
class End:
    pass


Node = Choice | Str | Int | Num | End


class Grammar:
    """Character automaton for calls of `registry`'s tools and for answers (`answer_max_len` chars)."""

    def __init__(
        self, registry: ToolRegistry, answer_max_len: int = ANSWER_MAX_LEN, allow_answer: bool = True
    ):
        self.registry = registry
        self.nodes: list[Node] = []
        self.end = self._add(End())
        root: list[tuple[str, int]] = []
        if len(registry):
            names = tuple((f'{t.name}","args":', self._args(t.params)) for t in registry)
            root.append(('{"tool":"', self._add(Choice(names))))
        if allow_answer:
            close = self._add(Choice((("}", self.end),)))
            root.append(('{"answer":"', self._add(Str(answer_max_len, close))))
        if not root:
            raise ValueError("a grammar needs at least one tool or the answer")
        self.start_node = self._add(Choice(tuple(root)))
        self._dist: dict[int, int] = {}
        self.start: State = (self.start_node, "")

    def _add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    # Construction ------------------------------------------------------------------------------
    def _args(self, params: tuple[Param, ...]) -> int:
        """`{` then keys in order; optional keys may be skipped; `}}` closes args and the object."""
        n = len(params)
        # keys_from[i][first]: node choosing the next present key among params[i:]
        cache: dict[tuple[int, bool], int] = {}

        def keys_from(i: int, first: bool) -> int:
            if (i, first) in cache:
                return cache[(i, first)]
            opts: list[tuple[str, int]] = []
            j = i
            while j < n:
                opts.extend(self._key_value(params[j], "" if first else ",", keys_from(j + 1, False)))
                if params[j].required:
                    break
                j += 1
            if j >= n:
                opts.append(("}}", self.end))
            node = self._add(Choice(tuple(opts)))
            cache[(i, first)] = node
            return node

        first = keys_from(0, True)
        return self._add(Choice((("{", first),)))

    def _key_value(self, p: Param, sep: str, nxt: int) -> list[tuple[str, int]]:
        key = f'{sep}"{p.name}":'
        if p.enum:
            return [(f'{key}"{v}"', nxt) for v in p.enum]
        if p.type == "boolean":
            return [(key + "true", nxt), (key + "false", nxt)]
        if p.type == "string":
            return [(key + '"', self._add(Str(p.max_len, nxt)))]
        if p.type == "integer":
            return [(key, self._add(Int(p.lo, p.hi, nxt)))]
        return [(key, self._add(Num(nxt)))]

    # Stepping ------------------------------------------------------------------------------------
    def step(self, state: State, ch: str) -> State | None:
        """The state after `ch`, or None if no valid output continues that way."""
        node_id, data = state
        node = self.nodes[node_id]
        if isinstance(node, Choice):
            prefix = data + ch
            for text, nxt in node.options:
                if text == prefix:
                    return self._enter(nxt)
                if text.startswith(prefix):
                    return (node_id, prefix)
            return None
        if isinstance(node, Str):
            if ch == '"':
                return self._enter(node.next)
            if ch in STRING_CHARS and data < node.max_len:
                return (node_id, data + 1)
            return None
        if isinstance(node, Int):
            if ch in DIGITS or (ch == "-" and data == "" and node.lo < 0):
                nd = data + ch
                return (node_id, nd) if _int_feasible(nd, node.lo, node.hi) else None
            if _int_complete(data, node.lo, node.hi):
                return self.step(self._enter(node.next), ch)
            return None
        if isinstance(node, Num):
            nd = data + ch
            if _num_prefix_ok(nd, node.int_digits, node.frac_digits):
                return (node_id, nd)
            if _num_complete(data):
                return self.step(self._enter(node.next), ch)
            return None
        return None

    def _enter(self, node_id: int) -> State:
        node = self.nodes[node_id]
        return (node_id, 0 if isinstance(node, Str) else "")

    def walk(self, state: State | None, text: str) -> State | None:
        for ch in text:
            if state is None:
                return None
            state = self.step(state, ch)
        return state

    def accepts(self, state: State | None) -> bool:
        return state is not None and isinstance(self.nodes[state[0]], End)

    def matches(self, text: str) -> bool:
        return self.accepts(self.walk(self.start, text))

    # Distances -----------------------------------------------------------------------------------
    def node_dist(self, node_id: int) -> int:
        """Fewest characters from entering `node_id` to acceptance (the graph is acyclic)."""
        if node_id in self._dist:
            return self._dist[node_id]
        node = self.nodes[node_id]
        if isinstance(node, End):
            d = 0
        elif isinstance(node, Choice):
            d = min(len(t) + self.node_dist(n) for t, n in node.options)
        elif isinstance(node, Str):
            d = 1 + self.node_dist(node.next)
        elif isinstance(node, Int):
            d = _int_extra("", node.lo, node.hi) + self.node_dist(node.next)
        else:
            d = 1 + self.node_dist(node.next)
        self._dist[node_id] = d
        return d

    def dist(self, state: State) -> int:
        """Fewest characters from `state` to a complete output."""
        node_id, data = state
        node = self.nodes[node_id]
        if isinstance(node, Choice):
            return min(len(t) - len(data) + self.node_dist(n) for t, n in node.options if t.startswith(data))
        if isinstance(node, (Str, End)):
            return self.node_dist(node_id)
        if isinstance(node, Int):
            return _int_extra(data, node.lo, node.hi) + self.node_dist(node.next)
        if _num_complete(data):
            return self.node_dist(node.next)
        return 1 + self.node_dist(node.next)


def _digits_range(k: int) -> tuple[int, int]:
    """Non-negative canonical integers with exactly k digits."""
    return (0, 9) if k == 1 else (10 ** (k - 1), 10**k - 1)


def _int_extra(s: str, lo: int, hi: int) -> int:
    """Fewest further characters that turn the feasible prefix `s` into a complete int in [lo, hi]."""
    if _int_complete(s, lo, hi):
        return 0
    neg = s.startswith("-")
    body = s[1:] if neg else s
    for k in range(1, 24):
        spans: list[tuple[int, int]] = []
        if body:
            a, b = int(body) * 10**k, int(body) * 10**k + 10**k - 1
            spans.append((-b, -a) if neg else (a, b))
        elif neg:
            a, b = _digits_range(k)
            spans.append((-b, -max(a, 1)))
        else:
            spans.append(_digits_range(k))
            if k > 1:
                a, b = _digits_range(k - 1)
                spans.append((-b, -max(a, 1)))
        if any(a <= hi and b >= lo for a, b in spans):
            return k
    raise ValueError(f"no integer in [{lo}, {hi}] continues {s!r}")


def _int_complete(s: str, lo: int, hi: int) -> bool:
    if s in ("", "-") or (len(s.lstrip("-")) > 1 and s.lstrip("-")[0] == "0") or s == "-0":
        return False
    return lo <= int(s) <= hi


def _int_feasible(s: str, lo: int, hi: int) -> bool:
    """Can the digit string `s` (maybe just "-") still be completed to a canonical int in [lo, hi]?"""
    neg = s.startswith("-")
    body = s[1:] if neg else s
    if body == "":
        return neg and lo < 0
    if body[0] == "0":
        return len(body) == 1 and not neg and lo <= 0 <= hi
    v = int(body)
    bound = max(abs(lo), abs(hi))
    k = 0
    while v * 10**k <= bound:
        a, b = v * 10**k, v * 10**k + 10**k - 1
        if neg:
            a, b = -b, -a
        if a <= hi and b >= lo:
            return True
        k += 1
    return False


def _num_prefix_ok(s: str, int_digits: int, frac_digits: int) -> bool:
    body = s[1:] if s.startswith("-") else s
    whole, dot, frac = body.partition(".")
    if any(c not in DIGITS for c in whole + frac) or "." in frac:
        return False
    if len(whole) > int_digits or len(frac) > frac_digits or (dot and not whole):
        return False
    return not (len(whole) > 1 and whole[0] == "0")


def _num_complete(s: str) -> bool:
    body = s[1:] if s.startswith("-") else s
    return body != "" and not body.endswith(".")
