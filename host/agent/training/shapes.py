"""Training-only data shapes: memory keys, values, payloads, keyboard slips and chatty framing.

People write keys with `_ . -`, digits and capitals, values of several words, messages of many words
and requests with slips and small talk around them; a model trained only on short lowercase tokens
cuts such data at the first unfamiliar character. These generators widen what training shows while
keeping the held-out ranges free: generated keys are at most `KEY_MAX` characters, payloads have a
word count in `PAYLOAD_WORDS` (1-3 or 9-16 words, never 4-8), and every word list here is written
for training.
"""

from __future__ import annotations

import random
import string

from zynpu.agent.training.phrases import NOUNS

KEY_MAX = 7  # characters of a generated training key, whatever its shape (plain nouns reach 8)
PAYLOAD_WORDS = ((1, 3), (9, 16))  # word counts of a training udp payload: short or long, no middle
TEXT_MAX = 48  # the udp_send/reply text limit (hwtools.TEXT)
VALUE_MAX = 32  # the memory value limit (hwtools.VALUE)
EVENT_MAX = 160  # characters of a request the model sees (prompt.MAX_EVENT_TEXT)

# Short words for long messages (9+ words must fit in 48 characters) and for values.
_SHORT_TEXT = (
    "a an the is on at to in of and or go ok up it we no yes now all new old red big low hot set "
    "run top left far out via by for due eta ack nak cmd log fan led bus cam door car van gas oil "
    "map box bag pen key cat dog sun sky sea day bed cup hat ship bay dock mill farm barn hall "
    "lab shed den pad rig arm hub net web grid"
)
SHORT = tuple(_SHORT_TEXT.split())
WORDS = SHORT + NOUNS
SEPARATORS = ("_", ".", "-")
CHATTY_OPENERS = (
    "morning! ",
    "good evening. ",
    "sorry to bother you, ",
    "quick question: ",
    "so, ",
    "hey there, ",
    "ok listen, ",
    "if you have a second, ",
    "one more thing: ",
    "right, ",
    "um, ",
    "when you get a chance, ",
    "alright agent, ",
    "hello again! ",
    "hi hi, ",
    "sorry, me again. ",
    "i was wondering, ",
    "listen up: ",
    "hope you are well. ",
    "so here is the thing, ",
    "before i forget, ",
    "boss here. ",
    "yo agent! ",
    "greetings. ",
    "ahem, ",
)
CHATTY_CLOSERS = (
    " - cheers",
    " ty",
    ", thx!",
    ". that is all",
    " when you can",
    " :)",
    ", much obliged",
    " if possible",
    ". thank you kindly",
    ", no rush",
    " asap please",
    "? merci",
    ". ok bye",
    ", you are a star",
    " (urgent)",
    " ...",
    "!!",
    ", cheers mate",
)
# Neighbouring keys on a QWERTY keyboard, for slips.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NEIGHBOURS = {
    c: "".join(
        _ROWS[r2][c2]
        for r2 in range(max(0, r - 1), min(3, r + 2))
        for c2 in range(max(0, i - 1), i + 2)
        if c2 < len(_ROWS[r2]) and _ROWS[r2][c2] != c
    )
    for r, row in enumerate(_ROWS)
    for i, c in enumerate(row)
}


def rand_token(
    rng: random.Random, lo: int, hi: int, alphabet: str = string.ascii_lowercase + string.digits
) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _short_nouns(limit: int) -> list[str]:
    return [n for n in NOUNS if len(n) <= limit]


def memory_key(rng: random.Random) -> str:
    """A key of at most KEY_MAX characters: plain, joined by `_ . -`, camelCase, with digits."""
    kind = rng.random()
    if kind < 0.2:
        key = rng.choice(_short_nouns(KEY_MAX))
    elif kind < 0.3:
        key = rand_token(rng, 3, KEY_MAX)
    elif kind < 0.65:  # two (or three) parts joined by one separator
        sep = rng.choice(SEPARATORS)
        parts = [rng.choice(_short_nouns(4) + list(SHORT)) if rng.random() < 0.7 else rand_token(rng, 1, 3)]
        while len(parts) < 3 and len(sep.join(parts)) < KEY_MAX - 1:
            parts.append(rng.choice(_short_nouns(4) + list(SHORT) + [str(rng.randint(0, 99))]))
            if rng.random() < 0.5:
                break
        key = sep.join(parts)
    elif kind < 0.8:  # camelCase
        a = rng.choice(_short_nouns(4))
        b = rng.choice([w for w in _short_nouns(4) + list(SHORT) if len(a + w) <= KEY_MAX])
        key = a + b.capitalize()
    else:  # word plus digits, sometimes with a separator
        key = rng.choice(_short_nouns(5)) + rng.choice(["", "", *SEPARATORS]) + str(rng.randint(0, 99))
    if rng.random() < 0.06:
        key = key.upper()
    key = key[:KEY_MAX].strip("_.-") or rand_token(rng, 3, KEY_MAX)
    return key


def memory_value(rng: random.Random) -> str:
    """A value: a token, a mixed-case code, a short hex number, a time or amount, or 2-3 words."""
    kind = rng.random()
    if kind < 0.2:
        v = rand_token(rng, 2, 7)
    elif kind < 0.35:
        a = rand_token(rng, 1, 3, string.ascii_letters + string.digits)
        v = (
            a
            + rng.choice(["", "-", "_", "/", "#", "."])
            + rand_token(rng, 1, 3, string.ascii_uppercase + string.digits)
        )
    elif kind < 0.45:
        v = "0x" + rand_token(rng, 2, 6, rng.choice(["0123456789ABCDEF", "0123456789abcdef"]))
    elif kind < 0.55:
        v = rng.choice(
            [
                f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}",
                f"{rng.randint(0, 999)}.{rng.randint(0, 99)}",
                f"+{rng.randint(10, 99)} {rng.randint(100, 9999)}",
                f"{rng.randint(1, 31)}/{rng.randint(1, 12)}",
                f"{rng.randint(1, 500)} {rng.choice(['kg', 'ml', 'km', 'mm', 'EUR', 'USD', '%'])}",
            ]
        )
    else:
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 3))]
        if rng.random() < 0.3:
            words[-1] = rng.choice([str(rng.randint(0, 999)), rand_token(rng, 2, 4)])
        style = rng.random()
        if style < 0.25:
            words = [w.capitalize() for w in words]
        elif style < 0.4:
            words[0] = words[0].capitalize()
        v = " ".join(words)
    return v[:VALUE_MAX].strip()


def _payload_word(rng: random.Random, short: bool) -> str:
    r = rng.random()
    if r < 0.12:
        return str(rng.randint(0, 999))
    if r < 0.22:
        return rand_token(rng, 1, 3 if short else 6)
    pool = SHORT if short else WORDS
    return rng.choice(pool)


def payload(rng: random.Random) -> str:
    """A udp message of 1-3 or 9-16 words (<= 48 characters), sometimes a sentence with capitals and
    punctuation."""
    lo, hi = rng.choice(PAYLOAD_WORDS)
    for _ in range(50):
        n = rng.randint(lo, hi)
        words = [_payload_word(rng, short=n > 3) for _ in range(n)]
        if rng.random() < 0.35:
            words[0] = words[0].capitalize()
        if n > 1 and rng.random() < 0.2:
            i = rng.randrange(n - 1)
            words[i] += rng.choice([",", ":", ";"])
        if rng.random() < 0.3:
            words[-1] += rng.choice([".", "!", "?", "!!"])
        if rng.random() < 0.05:
            words = [w.upper() for w in words]
        text = " ".join(words)
        if len(text) <= TEXT_MAX:
            return text
    return " ".join(["ok"] * lo)


def payload_words(text: str) -> int:
    return len(text.split())


def typo(rng: random.Random, frame: str, slips: int = 1) -> str:
    """The frame with keyboard slips (swap, drop, double, neighbour key) in words outside its slots."""
    words = frame.split(" ")
    spots = [i for i, w in enumerate(words) if "{" not in w and sum(c.isalpha() for c in w) >= 3]
    for _ in range(slips):
        if not spots:
            break
        i = rng.choice(spots)
        w = words[i]
        letters = [j for j, c in enumerate(w) if c.isalpha()]
        j = rng.choice(letters[:-1] if len(letters) > 1 else letters)
        op = rng.random()
        if op < 0.3 and j + 1 < len(w) and w[j + 1].isalpha():
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif op < 0.55:
            w = w[:j] + w[j + 1 :]
        elif op < 0.75:
            w = w[:j] + w[j] + w[j:]
        else:
            c = w[j].lower()
            w = w[:j] + rng.choice(NEIGHBOURS.get(c, c)) + w[j + 1 :]
        words[i] = w
    return " ".join(words)


def chatty(rng: random.Random, text: str, ends_in_slot: bool) -> str:
    """Small talk around a request, within what the model sees; no closer after a trailing slot."""
    out = text
    if rng.random() < 0.7:
        out = rng.choice(CHATTY_OPENERS) + out
        if rng.random() < 0.25:
            out = rng.choice(CHATTY_OPENERS).capitalize() + out
    if not ends_in_slot and rng.random() < 0.6:
        out += rng.choice(CHATTY_CLOSERS)
    return out if len(out) <= EVENT_MAX else text
