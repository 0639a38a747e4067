"""The training side's own validation split: phrasings and values that training never sees.

Recipe choices (steps, rank, data mix, which checkpoint to ship) are made on this split, never on the
honest eval. It is cut from the project's OWN training phrasings by fixed rules, so it measures how
well the model carries over to wording it was not trained on without touching the eval file:

- frames: every training frame (hand-written or composed) whose normalized text hashes to 0 mod
  `VAL_MOD` is a validation frame, and every other frame within one word edit of a validation frame
  is dropped from training as well (so a validation frame is never one word away from training);
- values: validation memory keys and value/payload words are the held-out nouns
  (`phrases.VAL_NOUNS`), and its long requests use the small-talk parts training never shows
  (`shapes.split_parts`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

VAL_MOD = 20


def words(frame: str) -> tuple[str, ...]:
    """Lower case, slots folded to one token, punctuation dropped: what 'the same wording' means."""
    text = re.sub(r"\{[ktvpn]\}", " SLOT ", frame.lower())
    return tuple(re.findall(r"[a-z0-9']+|SLOT", text))


def is_validation(frame: str) -> bool:
    return zlib.crc32(" ".join(words(frame)).encode()) % VAL_MOD == 0


def _subs(w: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    """w with each word in turn replaced by a wildcard: equal for two frames one substitution apart."""
    return ((*w[:i], "\0", *w[i + 1 :]) for i in range(len(w)))


def _dels(w: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    return (w[:i] + w[i + 1 :] for i in range(len(w)))


class Near:
    """Is a frame within one word edit (substitution, insertion, deletion) of any of `frames`?"""

    def __init__(self, frames: Iterable[str]) -> None:
        ws = [words(f) for f in frames]
        self.same = set(ws)
        self.subs = {s for w in ws for s in _subs(w)}
        self.dels = {d for w in ws for d in _dels(w)}

    def __call__(self, frame: str) -> bool:
        w = words(frame)
        return (
            w in self.same
            or w in self.dels  # one word shorter than a held-out frame
            or any(s in self.subs for s in _subs(w))
            or any(d in self.same for d in _dels(w))  # one word longer
        )


def split(frames: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(training frames, validation frames) per intent, from all of the project's training frames."""
    val = {i: [f for f in fs if is_validation(f)] for i, fs in frames.items()}
    near = Near(f for fs in val.values() for f in fs)
    train = {i: [f for f in fs if not near(f)] for i, fs in frames.items()}
    return train, val
