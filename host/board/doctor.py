"""`zynpu board doctor`: what a board needs before deploy and hil work, checked over SSH, with the fix.

Each check reads the board itself (os-release, the profile's Python and pynq, `sudo -n`, the CMA pool in
/proc/meminfo, the deployed overlay and its `.hwh`) and compares it with what this host expects (the
image table in zynpu.board.image, the tile manifest). Nothing is changed on the board.
"""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .image import BoardImage, sudoers_line
from .layout import BIT_NAME, overlay_dir
from .remote import Remote, RemoteEnv

# What each board's PYNQ image ships (docs/overlays.md): Ubuntu release, Python minor, pynq version prefix.
EXPECTED = {
    "kv260": ("22.04", "3.10", "3.0.1"),
    "zcu104": ("24.04", "3.12", "4.0"),
    "ultra96v2": ("22.04", "3.10", "3.0.1"),
}
MIN_CMA_MB = 256  # device buffers of a 270M-parameter model at 8 bits, with room for activations
# The PL clock 0 frequency as the PS configuration in the .hwh states it (UltraScale+, then Zynq-7000).
CLOCK_PARAMETERS = ("PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ", "PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""
    warning: bool = False  # reported, but does not fail the doctor

    def line(self) -> str:
        mark = "ok  " if self.ok else ("warn" if self.warning else "FAIL")
        return f"{mark} {self.name}: {self.found}" + (
            f"; fix: {self.fix}" if self.fix and not self.ok else ""
        )


def pl_clock_mhz(hwh: str) -> float | None:
    """PL clock 0 in MHz from the PS's parameters in a `.hwh`."""
    for parameter in ET.fromstring(hwh).iter("PARAMETER"):
        if parameter.get("NAME") in CLOCK_PARAMETERS:
            try:
                return float(str(parameter.get("VALUE")))
            except ValueError:
                return None
    return None


def diagnose(
    remote: Remote,
    env: RemoteEnv,
    image: BoardImage,
    board: str,
    remote_dir: str,
    expected: dict[str, object],
) -> list[Check]:
    """Every check; `expected` is the host's tile manifest (config_hash)."""
    checks: list[Check] = []
    release, python, pynq_version = EXPECTED[board]
    _, os_release, _ = remote.run("cat /etc/os-release", stream=False)
    pretty = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', os_release, re.M))
    version = pretty.get("VERSION_ID", "?")
    checks.append(
        Check(
            "image",
            version == release,
            f"{pretty.get('PRETTY_NAME', '?')} (user {remote.target.user_host[0]})",
            f"flash the {image.name} image (Ubuntu {release})",
            warning=True,
        )
    )

    code, _, stderr = remote.run("sudo -n true", stream=False)
    user = remote.check("id -un").strip()
    sudo_ok = code == 0 or not env.sudo
    checks.append(
        Check(
            "sudo",
            code == 0,
            "passwordless" if code == 0 else (stderr.strip() or f"exit {code}"),
            f"echo '{sudoers_line(user)}' | sudo tee /etc/sudoers.d/zynpu",
            warning=not env.sudo,
        )
    )

    if sudo_ok:
        probe = f"{env.python} -c " + shlex.quote(
            "import platform, pynq; print(platform.python_version(), pynq.__version__)"
        )
        code, out, err = remote.run(env.wrap(probe), stream=False)
        words = out.split()
        found_python, found_pynq = (words[-2], words[-1]) if code == 0 and len(words) >= 2 else ("?", "?")
        checks.append(
            Check(
                "python",
                found_python.startswith(python + "."),
                f"Python {found_python}",
                f"use the image's venv ({image.venv}, via {image.profile_script})",
            )
        )
        checks.append(
            Check(
                "pynq",
                found_pynq.startswith(pynq_version),
                f"pynq {found_pynq}" if code == 0 else err.strip()[-300:],
                f"pip install pynq=={pynq_version} in {image.venv}",
            )
        )

    _, meminfo, _ = remote.run("cat /proc/meminfo", stream=False)
    cma = re.search(r"^CmaTotal:\s+(\d+) kB", meminfo, re.M)
    cma_mb = int(cma.group(1)) // 1024 if cma else 0
    checks.append(
        Check(
            "cma",
            cma_mb >= MIN_CMA_MB,
            f"CMA pool {cma_mb} MB (need {MIN_CMA_MB} MB)",
            f"boot with cma={2 * MIN_CMA_MB}M on the kernel command line",
        )
    )

    overlay = overlay_dir(remote_dir)
    digests = remote.sha256([f"{overlay}/{BIT_NAME}", f"{overlay}/zynpu.hwh", f"{overlay}/manifest.json"])
    code, text, _ = remote.run(f"cat -- {shlex.quote(overlay + '/manifest.json')}", stream=False)
    deploy_hint = "zynpu board deploy --host ... (after make overlay)"
    if code != 0 or f"{overlay}/{BIT_NAME}" not in digests:
        checks.append(Check("bitstream", False, f"no deployed overlay in {overlay}", deploy_hint))
        return checks
    manifest = json.loads(text)
    files = manifest.get("files", {})
    intact = all(digests.get(f"{overlay}/{name}") == files.get(name, {}).get("sha256") for name in files)
    same_rtl = manifest.get("config_hash") == expected.get("config_hash")
    found = f"{overlay}/{BIT_NAME} " + ("matches its manifest" if intact else "differs from its manifest")
    found += (
        ", built from this RTL" if same_rtl else f", built from RTL {str(manifest.get('config_hash'))[:12]}"
    )
    checks.append(Check("bitstream", intact and same_rtl, found, f"make overlay, then {deploy_hint}"))

    _, hwh, _ = remote.run(f"cat -- {shlex.quote(overlay + '/zynpu.hwh')}", stream=False)
    target = manifest.get("clock", {}).get("target_mhz")
    try:
        mhz = pl_clock_mhz(hwh)
    except ET.ParseError:
        mhz = None
    close = mhz is not None and target is not None and abs(mhz - float(target)) <= 0.01 * float(target)
    checks.append(
        Check(
            "clock",
            close,
            f"pl_clk0 {mhz} MHz in the .hwh, {target} MHz targeted by the build",
            "rebuild the overlay (the PS clock setting and the timing target disagree)",
            warning=True,
        )
    )
    return checks
