"""The training side's validation split is held out of training for real: its frames, its one-word
neighbours, its nouns and its small-talk parts never reach a training example, and the same judge as
the honest eval scores it."""

from __future__ import annotations

import ast
import random
from pathlib import Path

from zynpu.agent import tasks
from zynpu.agent.evaluate import judge
from zynpu.agent.tasks import run_oracle
from zynpu.agent.training import phrases, shapes, valsplit

TRAINING = Path(valsplit.__file__).parent


def _edits(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Plain word-level Levenshtein distance (an independent check of valsplit.Near)."""
    prev = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        cur = [i]
        for j, wb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wa != wb)))
        prev = cur
    return prev[-1]


def test_near_finds_exactly_the_frames_one_word_edit_away() -> None:
    near = valsplit.Near(["send {t} to port {p}"])
    assert near("send {t} to port {p}")
    assert near("send {t} to the port {p}")  # insertion
    assert near("send {t} port {p}")  # deletion
    assert near("forward {t} to port {p}")  # substitution
    assert not near("forward {t} to the port {p}")  # two edits
    assert not near("udp {t} {p}")


def test_validation_frames_never_enter_training() -> None:
    train, val = tasks.training_frames(), tasks.validation_frames()
    assert set(train) == set(val) == set(tasks.INTENTS)
    assert all(len(val[i]) >= 10 for i in tasks.INTENTS)
    train_words = {valsplit.words(f) for fs in train.values() for f in fs}
    val_words = [valsplit.words(f) for fs in val.values() for f in fs]
    assert not train_words & set(val_words)
    # no training frame is one word edit from a validation frame: checked by brute force on a sample
    rng = random.Random(0)
    by_len: dict[int, list[tuple[str, ...]]] = {}
    for w in train_words:
        by_len.setdefault(len(w), []).append(w)
    for v in rng.sample(val_words, 60):
        close = [t for n in (len(v) - 1, len(v), len(v) + 1) for t in by_len.get(n, [])]
        assert min((_edits(v, t) for t in close), default=2) >= 2, v


def test_the_training_generator_draws_only_training_frames_and_words() -> None:
    train = {f for fs in tasks.training_frames().values() for f in fs}
    val = {f for fs in tasks.validation_frames().values() for f in fs}
    drawn = tasks.task_set("train", 1500, 0)
    framed = [t for t in drawn if t.frame]
    assert len(framed) > 1000 and all(t.frame in train and t.frame not in val for t in framed)
    held = set(phrases.VAL_NOUNS)
    assert held and not held & set(phrases.NOUNS) and not held & set(shapes.SHORT)
    assert not held & set(tasks.train_keys())
    for t in drawn:
        words = {
            w.strip(",.;:!?").lower()
            for s in (t.slots, t.world.memory)
            for v in s.values()
            for w in str(v).split()
        }
        assert not held & (set(t.world.memory) | words | {str(t.slots.get("k"))}), t
    val_parts = {
        p
        for parts in (shapes.LONG_GREETINGS, shapes.LONG_CONTEXT, shapes.LONG_CLOSERS)
        for p in shapes.split_parts(parts, "val")
    }
    assert val_parts and not any(p in t.event.get("text", "") for t in drawn for p in val_parts)


def test_validation_tasks_use_their_own_frames_and_the_eval_judge_scores_them() -> None:
    val = {f for fs in tasks.validation_frames().values() for f in fs}
    drawn = tasks.task_set("val", 200, 0)
    framed = [t for t in drawn if t.frame]
    assert framed and all(t.frame in val for t in framed)
    assert {"long", "typo"} <= {c for t in drawn for c in t.tags}
    for t in drawn[:30]:
        steps = run_oracle(t)
        outputs, results = [s for s, _ in steps], [r for _, r in steps if r is not None]
        assert judge(t, outputs, results) is None
        assert judge(t, outputs[:-1], results) is not None  # a trajectory cut short fails


def test_the_split_and_data_modules_never_read_the_eval_file() -> None:
    for name in ("valsplit.py", "examples.py", "shapes.py", "phrases.py", "gemma_lora.py"):
        src = (TRAINING / name).read_text()
        tree = ast.parse(src)
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.endswith(("honest", "evaluate", "baseline"))}, name
        assert "evaldata" not in src and "honest.json" not in src, name
