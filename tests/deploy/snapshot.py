"""A frozen copy of the checkout for deploy tests: others may edit the live tree while they run."""

from __future__ import annotations

import shutil
from pathlib import Path


def snapshot_checkout(dest: Path, extra: list[str]) -> Path:
    """Copy the package's tracked files plus the tracked files under `extra` into `dest`."""
    from zynpu.board.deploy import PACKAGE_PATHS, REPO_ROOT, tracked_files

    for path in tracked_files(REPO_ROOT, [*PACKAGE_PATHS, *extra]):
        target = dest / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest
