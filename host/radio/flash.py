"""Build the esptool command line that flashes firmware_esp32 from its ESP-IDF build outputs.

`idf.py build` writes build/flasher_args.json (offsets, images, flash mode and chip); this module turns
it into one `python -m esptool ... write_flash ...` invocation, so flashing from the board needs
esptool and pyserial only, not ESP-IDF.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT_BUILD_DIR = Path(__file__).resolve().parents[2] / "firmware_esp32" / "build"


class FlashError(Exception):
    """The build outputs are missing or inconsistent; the message says what to run."""


def esptool_command(port: str, build_dir: Path = DEFAULT_BUILD_DIR, baud: int = 921600,
                    python: str = sys.executable) -> list[str]:
    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise FlashError(f"firmware build directory {build_dir} not found: run `idf.py build` in "
                         "firmware_esp32/ (ESP-IDF v5) or pass --build-dir")
    args_file = build_dir / "flasher_args.json"
    if not args_file.is_file():
        raise FlashError(f"{args_file} not found: the build in {build_dir} is incomplete, run `idf.py build`")
    try:
        spec = json.loads(args_file.read_text())
        files: dict[str, str] = spec["flash_files"]
        extra = spec.get("extra_esptool_args", {})
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise FlashError(f"{args_file} is not a valid ESP-IDF flasher_args.json ({e})") from e
    if not files:
        raise FlashError(f"{args_file} lists no images to flash")
    images: list[str] = []
    for offset, rel in sorted(files.items(), key=lambda kv: int(kv[0], 0)):
        image = build_dir / rel
        if not image.is_file():
            raise FlashError(f"image {image} (offset {offset}) is missing: rebuild with `idf.py build`")
        images += [offset, str(image)]
    cmd = [python, "-m", "esptool", "--chip", extra.get("chip", "esp32"), "--port", port, "--baud", str(baud),
           "--before", extra.get("before", "default_reset"), "--after", extra.get("after", "hard_reset")]
    if extra.get("stub") is False:
        cmd.append("--no-stub")
    return [*cmd, "write_flash", *spec.get("write_flash_args", []), *images]
