"""Capabilities per event origin, enforced by the runtime whatever the model writes.

An origin is ("cli", None), ("timer", None), ("sensor", None), ("udp", (host, port)) or ("ble", None).
Its rule (from `policy.json`; a `senders` entry such as "udp:192.168.1.10" overrides the kind's) says
which tools it may call, whose memory it reaches ("owner": the owner's keys; "own": a namespace of
that sender alone, plus the owner's `shared_keys`; "none") and how many replies one event may draw.
Secrets (`secret_keys`, glob patterns) are never readable from the radio, even when shared. A denied
call is not run: the runtime traces it, answers the sender with `denial_text` and ends the session.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_POLICY = Path(__file__).parent / "policy.json"
RADIO = ("udp", "ble")
REPLY_TOOLS = ("reply", "ble_notify")
MEMORY_TOOLS = ("memory_get", "memory_set")


@dataclass(frozen=True)
class Rule:
    tools: frozenset[str] | None  # None: every tool
    memory: str = "none"  # owner | own | none
    replies_per_event: int = 1


@dataclass(frozen=True)
class Policy:
    origins: dict[str, Rule]
    senders: dict[str, Rule] = field(default_factory=dict)
    shared_keys: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()
    denial_text: str = "sorry, that is not allowed"

    @staticmethod
    def trusting() -> Policy:
        """Every origin may do everything with the owner's memory (evals of the model alone)."""
        r = Rule(None, "owner", 8)
        return Policy({k: r for k in ("cli", "timer", "sensor", "udp", "ble")})

    def rule(self, origin: tuple[str, Any]) -> Rule:
        kind, addr = origin
        if kind == "udp" and addr:
            hit = self.senders.get(f"udp:{addr[0]}")
            if hit is not None:
                return hit
        return self.origins.get(kind, Rule(frozenset(), "none", 0))

    def namespace(self, origin: tuple[str, Any]) -> str | None:
        """Prefix of the memory keys this origin reaches: "" for the owner's, None for no memory."""
        m = self.rule(origin).memory
        if m == "owner":
            return ""
        if m == "own":
            kind, addr = origin
            return f"{kind}:{addr[0]}/" if kind == "udp" and addr else f"{kind}/"
        return None

    def is_secret(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key.lower(), p) for p in self.secret_keys)

    def check(self, origin: tuple[str, Any], tool: str, args: dict[str, Any], replies: int) -> str | None:
        """None if the call may run, else why not (traced, and the sender is answered politely)."""
        rule = self.rule(origin)
        if rule.tools is not None and tool not in rule.tools:
            return f"{tool} is not allowed from {origin[0]}"
        if tool in REPLY_TOOLS and replies >= rule.replies_per_event:
            return f"at most {rule.replies_per_event} replies per event"
        if tool in MEMORY_TOOLS:
            if self.namespace(origin) is None:
                return f"no memory access from {origin[0]}"
            if tool == "memory_get" and origin[0] in RADIO and self.is_secret(str(args.get("key", ""))):
                return "secrets are not readable over the radio"
        return None


def _rule(d: dict[str, Any]) -> Rule:
    tools = d.get("tools", [])
    if d.get("memory", "none") not in ("owner", "own", "none"):
        from zynpu.errors import UserError

        raise UserError(f"policy: memory must be owner, own or none, not {d.get('memory')!r}; fix the file")
    return Rule(
        None if tools == "*" else frozenset(tools),
        d.get("memory", "none"),
        int(d.get("replies_per_event", 1)),
    )


def load_policy(path: str | os.PathLike | None = None) -> Policy:
    """`path`, else $ZYNPU_AGENT_HOME/policy.json if present, else the shipped safe defaults."""
    if path is None:
        from zynpu.agent.store import default_home

        home = default_home() / "policy.json"
        path = home if home.exists() else DEFAULT_POLICY
    d = json.loads(Path(path).read_text())
    return Policy(
        {k: _rule(v) for k, v in d["origins"].items()},
        {k: _rule(v) for k, v in d.get("senders", {}).items()},
        tuple(d.get("shared_keys", ())),
        tuple(d.get("secret_keys", ())),
        d.get("denial_text", "sorry, that is not allowed"),
    )


class ScopedMemory:
    """The memory an origin sees: its namespace, plus the owner's shared keys (read only)."""

    def __init__(self, backing: Any, policy: Policy, origin: tuple[str, Any]) -> None:
        self.backing, self.policy = backing, policy
        self.prefix = policy.namespace(origin) or ""

    def get(self, key: str) -> str | None:
        value = self.backing.get(self.prefix + key)
        if (
            value is None
            and self.prefix
            and key in self.policy.shared_keys
            and not self.policy.is_secret(key)
        ):
            value = self.backing.get(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self.backing[self.prefix + key] = value
