"""Map the repository's top-level folders into the one `zynpu` distribution.

`host/` is the `zynpu` package itself, `hw/` is `zynpu.hw` and `overlays/` is `zynpu.overlays`, so
nothing installs a generic top-level module such as `host` or `hw`.
"""

from pathlib import Path

from setuptools import setup

ROOTS = {"zynpu": "host", "zynpu.hw": "hw", "zynpu.overlays": "overlays"}


def discover() -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in ROOTS.items():
        package_dir[name] = folder
        for init in sorted(Path(folder).rglob("__init__.py")):
            rel = init.parent.relative_to(folder)
            packages.append(".".join((name, *rel.parts)) if rel.parts else name)
    return packages, package_dir


packages, package_dir = discover()
setup(packages=packages, package_dir=package_dir)
