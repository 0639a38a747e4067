"""Static rules of the ESP-IDF glue that cannot be compiled here (CI builds it with espressif/idf):
nothing payload-sized on a task stack, one owner of the core, the build lists what it uses."""

from __future__ import annotations

import re
from pathlib import Path

from zynpu.radio import wire

FW = Path(__file__).resolve().parents[2] / "firmware_esp32"
SOURCES = sorted((FW / "main").glob("*.c")) + sorted((FW / "components" / "zynpu_link" / "src").glob("*.c"))
STACK_ARRAY_LIMIT = 128  # bytes: anything larger lives in a static pool or ring

_LOCAL_ARRAY = re.compile(r"^\s+(?!static\b)(?:const\s+)?(\w+)\s+\**\w+\[([^\]]+)\]", re.M)
_SIZES = {"uint8_t": 1, "char": 1, "int8_t": 1, "uint16_t": 2, "int": 4, "uint32_t": 4, "int64_t": 8,
          "glue_msg": 20, "wifi_ap_record_t": 80, "zl_ap": 42, "fd_set": 8}


def _value(expr: str) -> int:
    names = {k: v for k, v in vars(wire).items() if isinstance(v, int)}
    names.update({f"ZL_{k}": v for k, v in names.items()})
    names.update({"MAX_SOCKS": 8, "SPI_QUEUE_DEPTH": 3, "sizeof": 0})
    return int(eval(expr, {"__builtins__": {}}, names))  # constant expressions from the headers only


def test_no_large_array_on_any_task_stack() -> None:
    offenders = []
    for path in SOURCES:
        text = path.read_text()
        body_starts = [m.end() for m in re.finditer(r"^\w[^;{]*\)\s*\{", text, re.M)]
        for m in _LOCAL_ARRAY.finditer(text):
            if not any(start < m.start() for start in body_starts):
                continue  # file scope
            size = _SIZES.get(m.group(1), 8) * _value(m.group(2))
            if size > STACK_ARRAY_LIMIT:
                offenders.append(f"{path.name}: {m.group(0).strip()} ({size} bytes)")
    assert offenders == [], offenders


def test_the_rule_above_catches_what_it_is_for() -> None:
    sample = "static void f(void)\n{\n    uint8_t out[ZL_MAX_PAYLOAD];\n}\n"
    m = _LOCAL_ARRAY.search(sample)
    assert m is not None and _value(m.group(2)) == wire.MAX_PAYLOAD


def test_only_the_link_task_calls_into_the_core() -> None:
    """Every zl_on_*/zl_log_event/zl_link_* call in main/ is in spi_link.c, main.c's boot or net_apply."""
    allowed = {"spi_link.c", "main.c"}
    for path in sorted((FW / "main").glob("*.c")):
        calls = set(re.findall(r"\b(zl_(?:on|log|link)_\w+)\(", path.read_text()))
        if path.name == "net.c":
            assert calls <= {"zl_on_wifi_scan_done", "zl_on_wifi_state"}, calls  # inside net_apply
            assert "void net_apply(zl_link *l" in path.read_text()
        elif path.name not in allowed:
            assert calls == set(), f"{path.name} calls the core: {calls}"
    assert "glue_lock" not in "".join(p.read_text() for p in (FW / "main").glob("*"))


def test_build_and_config_list_what_the_glue_uses() -> None:
    cmake = (FW / "main" / "CMakeLists.txt").read_text()
    for component in ("esp_timer", "esp_hw_support", "driver", "bt", "lwip", "nvs_flash"):
        assert re.search(rf"\b{component}\b", cmake), component
    config = (FW / "sdkconfig.defaults").read_text()
    assert "CONFIG_ESP_SYSTEM_EVENT_TASK_STACK_SIZE=" in config
    spi = (FW / "main" / "spi_link.c").read_text()
    glue = (FW / "main" / "glue.h").read_text()
    assert ".queue_size = SPI_QUEUE_DEPTH" in spi and "#define SPI_QUEUE_DEPTH 3" in glue
    workflow = (FW.parent / ".github" / "workflows" / "firmware.yml").read_text()
    assert "espressif/idf:v5" in workflow and "idf.py set-target esp32" in workflow
