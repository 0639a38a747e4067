"""The honest eval set: tasks built only from `evaldata/honest.json`, never from training's phrasings.

Wording, memory keys, values, payloads and world ranges come from the data file, which the training
code never reads; values and payload lengths lie outside the training generators' ranges, a share of
requests carry typos or long chatty framing, and one category must be refused. The expected outputs
come from the same oracle as training (`tasks.expected_action`), so the eval measures understanding of
new wording and copying of unseen data, not a different answer format.
"""

from __future__ import annotations

import functools
import json
import random
import re
from pathlib import Path
from typing import Any

from zynpu.agent.prompt import MAX_EVENT_TEXT
from zynpu.agent.tasks import Task, World

DATA = Path(__file__).parent / "evaldata" / "honest.json"
HONEST_SEED = 1
# Eval categories -> the oracle's intent ("refuse" expects reply("unknown request")).
ORACLE_INTENT = {"refuse": "unknown"}
_SLOT = re.compile(r"\{[ktvp]\}")


@functools.cache
def data() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def eval_frames() -> dict[str, list[str]]:
    return data()["frames"]


def _typo(rng: random.Random, text: str) -> str:
    """One or two keyboard slips (swap, drop or double a letter) in words that are not slots."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and not _SLOT.search(w)]
    for i in rng.sample(spots, min(len(spots), rng.randint(1, 2))):
        w, j = words[i], rng.randrange(1, len(words[i]) - 1)
        kind = rng.choice(("swap", "drop", "double"))
        if kind == "swap":
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif kind == "drop":
            w = w[:j] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def _payload(rng: random.Random) -> str:
    d = data()
    lo, hi = d["payload_words_per_message"]
    while True:
        text = " ".join(rng.choice(d["payload_words"]) for _ in range(rng.randint(lo, hi)))
        if len(text) <= d["payload_max_chars"]:
            return text


def _uniform(rng: random.Random, ranges: list[list[float]], digits: int) -> float:
    lo, hi = rng.choice(ranges)
    return round(rng.uniform(lo, hi), digits)


def _world(rng: random.Random) -> World:
    w = data()["world"]
    return World(
        temp=_uniform(rng, w["temp_c"], 1),
        power=_uniform(rng, w["power_w"], 2),
        npu_jobs=rng.randint(*w["npu_jobs"]),
        npu_cycles=rng.randint(*w["npu_cycles"]),
        time=f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
    )


def _fill(frame: str, slots: dict[str, Any]) -> str:
    return _SLOT.sub(lambda m: str(slots[m.group(0)[1]]), frame)


def make_honest_task(rng: random.Random, idx: int) -> Task:
    d = data()
    world = _world(rng)
    for _ in range(rng.randint(0, 2)):
        world.memory[rng.choice(d["keys"])] = rng.choice(d["value_words"])
    r = rng.random()
    if r < d["events"]["threshold"]:
        name = rng.choice(["temp", "power"])
        limit = 80.0 if name == "temp" else 8.0
        lo, hi = d["threshold_excess"][name]
        value = round(limit + rng.uniform(lo, hi), 1 if name == "temp" else 2)
        event = {"src": "sensor", "name": name, "value": value, "limit": limit}
        return Task(f"honest-{idx}", "threshold", event, world, tags=("threshold",))
    if r < d["events"]["threshold"] + d["events"]["timer"]:
        return Task(f"honest-{idx}", "timer", {"src": "timer", "name": "tick"}, world, tags=("timer",))
    category = rng.choice(sorted(d["frames"]))
    frame = rng.choice(d["frames"][category])
    slots: dict[str, Any] = {}
    if category in ("remember", "recall"):
        slots["k"] = rng.choice(d["keys"])
        slots["v"] = rng.choice(d["value_words"])
        if category == "recall" and rng.random() < 0.85:
            world.memory[slots["k"]] = rng.choice(d["value_words"])
    if category == "send":
        slots["p"] = rng.randint(1024, 65535)
        slots["t"] = _payload(rng)
    style = rng.choices(list(d["mix"]), weights=list(d["mix"].values()))[0]
    if style == "typo":
        frame = _typo(rng, frame)
    text = _fill(frame, slots)
    if style == "long":  # chatty framing, but within what the runtime shows the model (160 chars)
        opener, closer = rng.choice(d["long_openers"]), rng.choice(d["long_closers"])
        closer = "" if _SLOT.search(frame[-4:]) else closer
        for candidate in (opener + text + closer, opener + text, text + closer):
            if len(candidate) <= MAX_EVENT_TEXT:
                text = candidate
                break
    src = rng.choice(["udp", "udp", "ble", "cli"])
    intent = ORACLE_INTENT.get(category, category)
    return Task(f"honest-{idx}", intent, {"src": src, "text": text}, world, slots, tags=(category, style))


def honest_set(n: int = 120, seed: int = HONEST_SEED) -> list[Task]:
    rng = random.Random(f"honest:{seed}")
    return [make_honest_task(rng, i) for i in range(n)]
