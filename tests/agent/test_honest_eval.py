"""The honest eval is held out for real: its wording and data share nothing near with training."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from zynpu.agent import honest, tasks
from zynpu.agent.evaluate import baseline_report, judge, run_baseline
from zynpu.agent.tasks import run_oracle
from zynpu.agent.training import shapes

AGENT = Path(honest.__file__).parent


def _words(frame: str) -> list[str]:
    """Lower case, slots folded to one token, punctuation dropped: what 'the same wording' means."""
    frame = re.sub(r"\{[ktvpn]\}", " SLOT ", frame.lower())
    return re.findall(r"[a-z0-9']+|SLOT", frame.replace("SLOT", "slot").replace("slot", "SLOT"))


def word_edits(a: list[str], b: list[str], cap: int = 3) -> int:
    """Word-level Levenshtein distance, exact up to `cap`."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        cur = [i]
        for j, wb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wa != wb)))
        if min(cur) >= cap:
            return cap
        prev = cur
    return min(prev[-1], cap)


def test_word_edits_counts_insertions_deletions_and_substitutions() -> None:
    assert word_edits(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert word_edits(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert word_edits(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert word_edits(["a"], ["b", "c", "d", "e"]) == 3


def _training_frames() -> dict[int, set[tuple[str, ...]]]:
    """Every training frame (hand-written and composed) as words, grouped by length."""
    frames = [f for per in tasks.training_frames().values() for f in per]
    frames += [
        f for per in tasks.FRAMES.values() for split, fs in per.items() if split == "train" for f in fs
    ]
    by_len: dict[int, set[tuple[str, ...]]] = {}
    for f in frames:
        w = tuple(_words(f))
        by_len.setdefault(len(w), set()).add(w)
    return by_len


def test_no_eval_frame_is_within_two_word_edits_of_a_training_frame() -> None:
    train = _training_frames()
    assert sum(len(v) for v in train.values()) > 5000
    near = []
    for category, frames in honest.eval_frames().items():
        for frame in frames:
            w = _words(frame)
            close = (t for n in range(len(w) - 2, len(w) + 3) for t in train.get(n, ()))
            hit = next((t for t in close if word_edits(w, list(t)) <= 2), None)
            if hit is not None:
                near.append((category, frame, " ".join(hit)))
    assert near == []


def _training_slots(n: int = 4000) -> dict[str, list[str]]:
    """Keys, values and payloads as the training generator draws them (slots and stored memory)."""
    out: dict[str, list[str]] = {"k": [], "v": [], "t": []}
    for t in tasks.task_set("train", n, 0):
        for name in out:
            if name in t.slots:
                out[name].append(str(t.slots[name]))
        out["k"] += list(t.world.memory)
        out["v"] += list(t.world.memory.values())
    return out


def test_eval_data_lies_outside_the_training_ranges() -> None:
    """Training keys are at most shapes.KEY_MAX (7) characters of any shape (`_ . -`, digits,
    camelCase; plain nouns up to 8), eval keys are longer; training payloads have 1-3 or 9-16 words,
    eval payloads 4-8; no eval value is a training value; the eval's sensor and counter ranges lie
    outside training's."""
    d = honest.data()
    drawn = _training_slots()
    keys = set(drawn["k"]) | set(tasks.train_keys())
    assert not set(d["keys"]) & (keys | set(tasks.KEYS_EVAL))
    plain = re.compile(r"[a-z0-9]+")
    # training: any shape up to KEY_MAX (7) characters, plain nouns up to 8
    assert all(len(k) <= shapes.KEY_MAX or (len(k) <= 8 and plain.fullmatch(k)) for k in keys)
    assert any(sep in k for k in keys for sep in "_.-") and any(c.isupper() for k in keys for c in k)
    # eval: longer than any training key of its shape
    assert all(len(k) > 8 or (len(k) > shapes.KEY_MAX and not plain.fullmatch(k)) for k in d["keys"])
    # values: training draws tokens, codes, hex, amounts and 2-3 word phrases; the short words it
    # adds for them are none of the eval's value words (the nouns it shares with the memory keys are
    # everyday words and may meet one), and no eval value is ever a training value
    value_words = {w.lower() for v in d["value_words"] for w in v.split()}
    assert len(value_words & {w.lower() for w in shapes.SHORT}) == 0
    assert len(set(d["value_words"]) & set(drawn["v"])) == 0
    assert any(" " in v for v in drawn["v"]) and any(c.isupper() for v in drawn["v"] for c in v)
    # payload word counts: training's two bands leave out exactly the eval's band
    (short_lo, short_hi), (long_lo, long_hi) = shapes.PAYLOAD_WORDS
    lengths = {len(t.split()) for t in drawn["t"]}
    assert lengths <= set(range(short_lo, short_hi + 1)) | set(range(long_lo, long_hi + 1))
    assert {1, 3, long_lo} <= lengths and max(lengths) > 10
    lo, hi = d["payload_words_per_message"]
    assert short_hi < lo and hi < long_lo
    w = d["world"]
    assert all(hi < 30.0 or lo > 95.0 for lo, hi in w["temp_c"])  # training: 30-95 C
    assert all(lo > 9.99 for lo, _ in w["power_w"])  # training: 0.5-9.99 W
    assert w["npu_jobs"][0] > 99999 and w["npu_cycles"][0] > 99999999


def test_training_code_never_reads_the_eval_file() -> None:
    """The modules that make training data or train (device_eval.py only scores, like evaluate.py)."""
    training = [
        "tasks.py",
        "training/phrases.py",
        "training/shapes.py",
        "training/tiny.py",
        "training/gemma_lora.py",
    ]
    for name in [*training, "training/torch_forward.py"]:
        src = (AGENT / name).read_text()
        tree = ast.parse(src)
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.endswith(("honest", "evaluate", "baseline"))}, name
        assert "evaldata" not in src and "honest.json" not in src, name


def test_the_set_has_every_category_typos_long_requests_and_refusals() -> None:
    ts = honest.honest_set(120)
    cats = {c for t in ts for c in t.tags}
    assert {"temp", "power", "npu", "time", "remember", "recall", "send", "refuse"} <= cats
    assert {"plain", "typo", "long"} <= cats
    assert any(len(t.event.get("text", "")) > 100 for t in ts)
    assert all(len(t.event.get("text", "")) <= 160 for t in ts)  # the model sees the whole request


def test_the_oracle_solves_every_task_and_a_wrong_answer_fails() -> None:
    for t in honest.honest_set(120):
        steps = run_oracle(t)
        outs, results = [s for s, _ in steps], [r for _, r in steps[:-1]]
        assert judge(t, outs, results) is None, t
    t = next(t for t in honest.honest_set(120) if "send" in t.tags)
    steps = run_oracle(t)
    outs = [s for s, _ in steps]
    outs[0] = outs[0].replace(t.slots["t"], t.slots["t"].split(" ")[0])  # a payload cut to one word
    assert judge(t, outs, [r for _, r in steps[:-1]]) is not None


def test_the_keyword_baseline_does_not_solve_the_honest_set() -> None:
    ts = honest.honest_set(120)
    report = baseline_report(ts)
    # the baseline must still be a real attempt: it solves the in-distribution set almost entirely...
    legacy = tasks.task_set("eval", 100, 1)
    assert sum(run_baseline(t) for t in legacy) / len(legacy) >= 0.8
    # ...and the honest set must not be solvable by keywords
    assert report["task_success"] <= 0.6
    assert set(report["by_category"]) >= {"refuse", "send", "typo", "long"}


@pytest.mark.parametrize(
    "text", ["toggle gpio 17", "tell me a joke about engineers", "send 'hi' to 10.0.0.5 port 9000"]
)
def test_requests_that_must_be_refused_expect_unknown_request(text: str) -> None:
    refuse = honest.eval_frames()["refuse"]
    assert text in refuse
    t = tasks.Task("x", "unknown", {"src": "udp", "text": text}, tasks.World())
    assert [s for s, _ in run_oracle(t)] == [
        tasks.call("reply", text=tasks.UNKNOWN),
        tasks.answer(tasks.UNKNOWN),
    ]
