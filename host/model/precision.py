"""Weight precision per linear site: which tile format (int8, or int4 with group scales) each job uses.

The Q4_K_M idea: 4 bits where the model tolerates them, 8 where it does not. A job has one format, so
the choice is per site (fused QKV, O, fused gate+up, down, LM head). Candidates were measured with
`python -m zynpu.model.evaluate --model gemma3-270m --policy NAME ...` (docs/model.md, "Weight
precision"): perplexity on data/sample.txt against float32, and weight bytes per token.
"""

from __future__ import annotations

from collections.abc import Mapping

from zynpu.model.sites import SITE_NAMES

# int4 read from the GGUF's own Q4_0/Q4_K codes where every stacked tensor of the site is stored so in
# that layer, else int8 (unsmoothed); zynpu.model.gguf_native, docs/weights.md "GGUF codes on the tile".
INT4_GGUF = "int4-gguf"
FORMATS = ("int8", "int4", INT4_GGUF)
Policy = Mapping[str, str]  # site name -> "int8" | "int4" | "int4-gguf"


def uniform(fmt: str) -> dict[str, str]:
    return dict.fromkeys(SITE_NAMES, fmt)


POLICIES: dict[str, dict[str, str]] = {
    "w8a8": uniform("int8"),
    "w4a8": uniform("int4"),
    "w4a8-head8": uniform("int4") | {"lm_head": "int8"},
    "w4a8-down8-head8": uniform("int4") | {"down": "int8", "lm_head": "int8"},
    "w4a8-down8": uniform("int4") | {"down": "int8"},
    "w8a8-head4": uniform("int8") | {"lm_head": "int4"},
    "w8a8-gate_up4": uniform("int8") | {"gate_up": "int4"},
    "w8a8-ffn4": uniform("int8") | {"gate_up": "int4", "down": "int4"},
    "w8a8-o4": uniform("int8") | {"o": "int4"},
    # 4 bits exactly where the GGUF's quantizer stored 4 bits (Q4_K_M: attn_output, half of ffn_down),
    # read from its codes; the rest W8A8 (smoothed where int8 by policy).
    "gguf-o4": uniform("int8") | {"o": INT4_GGUF},
    "gguf-native": uniform("int8") | {"o": INT4_GGUF, "down": INT4_GGUF},
    "gguf-all": uniform(INT4_GGUF),
}
# The 4-bit policy evaluated by default and reported as shipped: the only one measured within 3 % of
# float32 on Gemma 3 270M (+2.94 %; docs/model.md, "Weight precision"). `load` stays W8A8 unless asked.
SHIPPED_4BIT = "w8a8-o4"


def policy(name_or_map: str | Policy) -> dict[str, str]:
    """A complete, checked policy from a name in POLICIES or a partial map (missing sites: int8)."""
    if isinstance(name_or_map, str):
        if name_or_map not in POLICIES:
            raise ValueError(f"unknown precision policy {name_or_map!r} (known: {', '.join(POLICIES)})")
        return dict(POLICIES[name_or_map])
    chosen = uniform("int8") | dict(name_or_map)
    bad = {k: v for k, v in chosen.items() if k not in SITE_NAMES or v not in FORMATS}
    if bad:
        raise ValueError(f"bad precision entries {bad}: sites are {SITE_NAMES}, formats {FORMATS}")
    return chosen
