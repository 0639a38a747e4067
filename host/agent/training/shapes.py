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
import zlib

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


def _short(nouns: tuple[str, ...], limit: int) -> list[str]:
    return [n for n in nouns if len(n) <= limit]


def memory_key(rng: random.Random, nouns: tuple[str, ...] = NOUNS) -> str:
    """A key of at most KEY_MAX characters: plain, joined by `_ . -`, camelCase, with digits, or
    letters, digits and separators in no pattern at all (many tokens for few characters)."""

    def _short_nouns(limit: int) -> list[str]:
        return _short(nouns, limit)

    kind = rng.random()
    if kind < 0.17:
        key = rng.choice(_short_nouns(KEY_MAX))
    elif kind < 0.24:
        key = rand_token(rng, 3, KEY_MAX)
    elif kind < 0.3:  # no pattern: mixed case, digits and a separator anywhere
        key = rand_token(rng, 2, 3, string.ascii_letters + string.digits)
        key += rng.choice(SEPARATORS) + rand_token(
            rng, 1, KEY_MAX - len(key) - 1, string.ascii_letters + string.digits
        )
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


def number(rng: random.Random) -> str:
    """A number of any length up to 14 digits (log-uniform), sometimes signed or with decimals: the
    model learns to copy digits one by one rather than a length it saw."""
    v = str(rng.randint(0, 10 ** rng.randint(1, 14) - 1))
    r = rng.random()
    if r < 0.3:
        v += "." + str(rng.randint(0, 10 ** rng.randint(1, 4) - 1))
    elif r < 0.4:
        v = "-" + v
    return v


def memory_value(rng: random.Random, nouns: tuple[str, ...] = NOUNS) -> str:
    """A value: a token, a mixed-case code, a short hex number, a time or amount, a number, or 2-3
    words."""
    words_pool = SHORT + nouns
    kind = rng.random()
    if kind < 0.08:
        v = number(rng)
    elif kind < 0.2:
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
        words = [rng.choice(words_pool) for _ in range(rng.randint(2, 3))]
        if rng.random() < 0.3:
            words[-1] = rng.choice([str(rng.randint(0, 999)), rand_token(rng, 2, 4)])
        style = rng.random()
        if style < 0.25:
            words = [w.capitalize() for w in words]
        elif style < 0.4:
            words[0] = words[0].capitalize()
        v = " ".join(words)
    return v[:VALUE_MAX].strip()


def _payload_word(rng: random.Random, short: bool, nouns: tuple[str, ...]) -> str:
    r = rng.random()
    if r < 0.12:
        return str(rng.randint(0, 999)) if short else number(rng)
    if r < 0.22:
        return rand_token(rng, 1, 3 if short else 6)
    pool = SHORT if short else SHORT + nouns
    return rng.choice(pool)


def payload(rng: random.Random, nouns: tuple[str, ...] = NOUNS) -> str:
    """A udp message of 1-3 or 9-16 words (<= 48 characters), sometimes a sentence with capitals and
    punctuation."""
    lo, hi = rng.choice(PAYLOAD_WORDS)
    for _ in range(50):
        n = rng.randint(lo, hi)
        words = [_payload_word(rng, short=n > 3, nouns=nouns) for _ in range(n)]
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


# Long requests: whole sentences of small talk before the request and after it, the way people write
# to a helper they know. Each list is split by a fixed hash (`split_parts`): the validation split's
# long requests use parts that training never shows.
LONG_GREETINGS = (
    "hi there!",
    "hello agent.",
    "good morning!",
    "good afternoon, agent.",
    "hey, hope you are doing well.",
    "hi, it's me again.",
    "greetings from the lab.",
    "howdy!",
    "hey buddy.",
    "hello friend.",
    "evening!",
    "hi agent, long time no see.",
    "hello, hello.",
    "hey you.",
    "morning, little board.",
    "hi again, sorry to keep pinging you.",
    "dear agent,",
    "hey hey.",
    "salut!",
    "hi, quick message from the office.",
    "good day to you.",
    "ahoy agent!",
    "hi, hope your day is going fine.",
    "hello from the night shift.",
)
LONG_CONTEXT = (
    "long day here.",
    "the weather is awful today.",
    "i just got back from lunch.",
    "we are testing the new setup.",
    "my coffee went cold again.",
    "the meeting ran late.",
    "i am working from home today.",
    "it has been a busy week.",
    "the kids are finally asleep.",
    "traffic was terrible this morning.",
    "we shipped the release yesterday.",
    "i am in a bit of a hurry.",
    "sorry for all the messages.",
    "my boss keeps asking me things.",
    "the lab is very quiet today.",
    "i can't find my notebook anywhere.",
    "we have a demo tomorrow.",
    "my phone is almost dead.",
    "the train is late again.",
    "i hope this is not a bother.",
    "i was just thinking about something.",
    "nothing urgent, really.",
    "this is for the weekly log.",
    "my colleague asked me to check.",
    "it is raining cats and dogs here.",
    "i forgot my keys at home.",
    "we moved the desk around today.",
    "lunch was great, by the way.",
    "i have a small favour to ask.",
    "i'm typing this on my phone.",
    "the fan in here is so loud.",
    "sorry, my english is not great.",
)
LONG_LEADINS = (
    "anyway, ",
    "so, ",
    "here is what i need: ",
    "my request: ",
    "quick one: ",
    "could you help me? ",
    "i have a request. ",
    "can you do something for me? ",
    "",
    "",
    "ok, ",
    "so here goes: ",
    "right, ",
    "the thing is, ",
    "what i wanted to ask: ",
    "task for you: ",
    "if it's no trouble, ",
    "please, ",
    "well, ",
    "basically, ",
    "all i need is this: ",
    "in short: ",
)
LONG_CLOSERS = (
    "thanks a lot!",
    "thank you so much.",
    "much appreciated.",
    "have a nice day!",
    "talk soon.",
    "cheers.",
    "you are the best.",
    "let me know.",
    "bye for now.",
    "thanks in advance.",
    "no hurry.",
    "hope that's not too much trouble.",
    "see you later!",
    "thanks, take care.",
    "that would help a lot.",
    "good night!",
    "many thanks.",
    "i owe you one.",
    "keep up the good work.",
    "ok that's it, bye.",
    "have a good one.",
    "thanks and sorry again.",
)


def split_parts(parts: tuple[str, ...], split: str) -> tuple[str, ...]:
    """The parts a split may use: one in five (by a fixed hash) is the validation split's alone."""
    val = tuple(p for p in parts if zlib.crc32(p.encode()) % 5 == 0)
    return val if split == "val" else tuple(p for p in parts if p not in val)


def long_request(rng: random.Random, text: str, ends_in_slot: bool, split: str = "train") -> str:
    """The request inside sentences of small talk (greeting, context, a lead-in, a closing line),
    within EVENT_MAX characters; no closing sentence after a trailing slot (it would join the value)."""
    for _ in range(20):
        head = []
        if rng.random() < 0.8:
            head.append(rng.choice(split_parts(LONG_GREETINGS, split)))
        for _ in range(rng.choice([0, 1, 1, 2])):
            head.append(rng.choice(split_parts(LONG_CONTEXT, split)))
        body = rng.choice(split_parts(LONG_LEADINS, split)) + text
        tail = []
        if not ends_in_slot and rng.random() < 0.75:
            tail.append(rng.choice(split_parts(LONG_CLOSERS, split)))
            if rng.random() < 0.3:
                tail.append(rng.choice(split_parts(LONG_CONTEXT, split)))
        if not ends_in_slot and body[-1].isalnum() and tail:
            body += rng.choice([".", "?", "!", ""])
        out = " ".join([*head, body, *tail])
        if rng.random() < 0.2:
            out = out[0].upper() + out[1:]
        if len(out) <= EVENT_MAX:
            return out
    return text
