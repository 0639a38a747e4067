"""The board facts (part, PL clock, DDR bandwidth, HP ports, PS DDR size): read from boards.json only.

One file so that the Vivado flow (`build_overlay`, which writes the `board(...)` Tcl from it) and the
roofline (`zynpu.roofline.board_spec`) can never disagree about a board.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

BOARDS_FILE = Path(__file__).resolve().parent / "boards.json"


@cache
def _all() -> dict[str, dict[str, Any]]:
    data = json.loads(BOARDS_FILE.read_text())
    return {name: facts for name, facts in data.items() if not name.startswith("_")}


def board_names() -> tuple[str, ...]:
    return tuple(sorted(_all()))


def board_facts(board: str) -> dict[str, Any]:
    """The facts of one board; ValueError naming the known boards for any other name."""
    try:
        return dict(_all()[board])
    except KeyError:
        raise ValueError(f"unknown board {board!r} (boards: {', '.join(board_names())})") from None
