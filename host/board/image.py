"""What a PYNQ image looks like to deploy and doctor: login user, venv, profile script, Jupyter's folder.

Facts of the images (docs/hil.md): Kria-PYNQ 3.0.1 logs in as `ubuntu`, PYNQ SD images as `xilinx`;
both keep pynq's venv in `/usr/local/share/pynq-venv`, activated by `/etc/profile.d/pynq_venv.sh`
(which also sets `XILINX_XRT=/usr`); Jupyter runs as root. `root` prefixes every path: a twin of the
image installed under a folder (tests/deploy) is the same image with `root` set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BoardImage:
    name: str
    user: str  # the login user
    notebooks: str  # the folder root's Jupyter serves
    venv: str = "/usr/local/share/pynq-venv"
    profile_script: str = "/etc/profile.d/pynq_venv.sh"
    root: str = ""  # a prefix for every path above (a twin of the image); "" on a board

    def path(self, image_path: str) -> str:
        return f"{self.root.rstrip('/')}{image_path}" if self.root else image_path

    @property
    def prelude(self) -> str:
        return f"source {self.path(self.profile_script)}"

    @property
    def notebooks_dir(self) -> str:
        return f"{self.path(self.notebooks)}/zynpu"

    def under(self, root: str) -> BoardImage:
        return replace(self, root=root)


IMAGES: dict[str, BoardImage] = {
    "kria-pynq": BoardImage("kria-pynq", "ubuntu", "/root/jupyter_notebooks"),
    "pynq": BoardImage("pynq", "xilinx", "/home/xilinx/jupyter_notebooks"),
}
# Which image each board's PYNQ release is (docs/overlays.md).
BOARD_IMAGES = {"kv260": "kria-pynq", "zcu104": "pynq", "ultra96v2": "pynq"}


def sudoers_line(user: str) -> str:
    """The rule that lets `user` run PYNQ's commands without a password (a lab board only)."""
    return f"{user} ALL=(ALL) NOPASSWD: ALL"
