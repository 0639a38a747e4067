"""Generate the C header and the Python constants from firmware_esp32/protocol/wire_format.json.

Both sides of the link read their constants from one spec, so they cannot drift; tests/radio checks
that the committed outputs equal a fresh generation. Run: python -m zynpu.radio.wiregen
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "firmware_esp32" / "protocol" / "wire_format.json"
C_HEADER = REPO / "firmware_esp32" / "components" / "zynpu_link" / "include" / "zl_wire.h"
PY_MODULE = Path(__file__).resolve().parent / "wire.py"

_BANNER = "Generated from firmware_esp32/protocol/wire_format.json by zynpu.radio.wiregen; do not edit."


def load_spec(path: Path = SPEC) -> dict:
    return json.loads(path.read_text())


def _constants(spec: dict) -> list[tuple[str, int]]:
    """Flatten the spec into (NAME, value) pairs shared by both outputs."""
    out: list[tuple[str, int]] = [
        ("VERSION", spec["version"]),
        ("MAGIC", spec["magic"]),
        ("TRANSACTION_SIZE", spec["transaction_size"]),
        ("HEADER_SIZE", spec["header_size"]),
        ("MAX_PAYLOAD", spec["max_payload"]),
    ]
    out += [(f"OFF_{f['name'].upper()}", f["offset"]) for f in spec["header"]]
    out += [(f"FLAG_{k}", v["value"]) for k, v in spec["flags"].items()]
    out += [(k.upper(), v) for k, v in spec["link"].items()]
    out += [(f"DECODE_{k}", v) for k, v in spec["decode_errors"].items()]
    out += [(f"STATUS_{k}", v) for k, v in spec["status"].items()]
    for cname, ch in spec["channels"].items():
        out.append((f"CH_{cname}", ch["value"]))
        out += [(f"{cname}_{t}", v) for t, v in ch["types"].items()]
    out += [(f"WIFI_STATE_{k}", v) for k, v in spec["wifi_states"].items()]
    out += [(f"FEATURE_{k}", v) for k, v in spec["features"].items()]
    out += [(f"LOST_{k}", v) for k, v in spec["lost_reasons"].items()]
    out += [(f"BOOT_FLAG_{k}", v) for k, v in spec["boot_flags"].items()]
    for name, limit in spec["limits"].items():
        # every size limit is derived here, once: "payload_minus" is relative to max_payload
        value = spec["max_payload"] - limit["payload_minus"] if "payload_minus" in limit else limit["value"]
        out.append((f"LIMIT_{name}", value))
    return out


def render_c(spec: dict) -> str:
    lines = [f"/* {_BANNER} */", "#ifndef ZL_WIRE_H", "#define ZL_WIRE_H", ""]
    lines += [f"#define ZL_{name} {value}" for name, value in _constants(spec)]
    lines += ["", "#endif /* ZL_WIRE_H */", ""]
    return "\n".join(lines)


def render_py(spec: dict) -> str:
    lines = [f'"""{_BANNER}"""', ""]
    lines += [f"{name} = {value}" for name, value in _constants(spec)]
    lines.append("")
    lines.append("HEADER_FIELDS: tuple[tuple[str, int, str], ...] = (")
    lines += [f"    ({f['name']!r}, {f['offset']}, {f['type']!r})," for f in spec["header"]]
    lines.append(")")
    lines.append("")
    return "\n".join(lines)


def outputs(spec: dict | None = None) -> dict[Path, str]:
    spec = spec or load_spec()
    return {C_HEADER: render_c(spec), PY_MODULE: render_py(spec)}


def main() -> int:
    for path, text in outputs().items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
