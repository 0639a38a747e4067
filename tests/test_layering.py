"""Package layering, read from the sources' import statements (ast), not from running them.

- `zynpu.hw` (the RTL, its spec and manifest) imports nothing from the rest of `zynpu`: the host reads
  the hardware, never the other way round.
- `zynpu.model.validation` (llama.cpp comparisons) is development-only: no other module imports it and
  the wheel `zynpu board deploy` builds leaves it out.
- Tests import their helpers one way: relatively, from their own test package (`from . import tile_sim`).
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Package name -> source folder, as setup.py maps them.
ROOTS = {"zynpu.hw": REPO / "hw", "zynpu.overlays": REPO / "overlays", "zynpu": REPO / "host"}
VALIDATION = "zynpu.model.validation"


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of a source file, and whether it is a package's __init__."""
    for package, folder in ROOTS.items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            return ".".join((package, *parts[: -1 if is_package else None])), is_package
    raise ValueError(f"{path} is in none of {sorted(ROOTS)}")


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module `source` imports, anywhere in it, with relative imports resolved against `module`."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            # `from zynpu import errors` imports the module zynpu.errors.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def outside_hw(path: Path) -> list[str]:
    module, is_package = module_name(path)
    found = imported_modules(path.read_text(), module, is_package)
    return sorted(n for n in found if within(n, "zynpu") and not within(n, "zynpu.hw"))


def test_the_import_reader_sees_absolute_relative_and_local_imports() -> None:
    source = "from . import spec\nfrom ..errors import UserError\ndef f():\n    import zynpu.cli\n"
    found = imported_modules(source, "zynpu.hw.rtl", is_package=True)
    assert {"zynpu.hw.rtl.spec", "zynpu.hw.errors.UserError", "zynpu.cli"} <= found
    found = imported_modules("from ...errors import UserError\n", "zynpu.hw.rtl.top", is_package=False)
    assert "zynpu.errors" in found
    assert sorted(n for n in found if within(n, "zynpu") and not within(n, "zynpu.hw")) == [
        "zynpu.errors",
        "zynpu.errors.UserError",
    ]


def test_hw_imports_nothing_from_the_rest_of_zynpu() -> None:
    files = sources(ROOTS["zynpu.hw"])
    assert len(files) > 10
    offenders = {str(p.relative_to(REPO)): bad for p in files if (bad := outside_hw(p))}
    assert offenders == {}, f"zynpu.hw must import only zynpu.hw: {offenders}"


def test_only_the_validation_package_imports_itself() -> None:
    offenders = {}
    for folder in ROOTS.values():
        for path in sources(folder):
            module, is_package = module_name(path)
            if within(module, VALIDATION):
                continue
            found = imported_modules(path.read_text(), module, is_package)
            if any(within(n, VALIDATION) for n in found):
                offenders[str(path.relative_to(REPO))] = sorted(n for n in found if within(n, VALIDATION))
    assert offenders == {}, f"modules the board may run import the validation tools: {offenders}"


def test_the_deployed_wheel_leaves_the_validation_package_out(tmp_path: Path) -> None:
    pytest.importorskip("wheel")
    from zynpu.board.deploy import build_wheel

    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "zynpu/model/transformer.py" in names and "zynpu/hw/spec.py" in names
    assert "zynpu/overlays/boards.json" in names  # the roofline reads it on the board too
    left_in = [n for n in names if n.startswith(VALIDATION.replace(".", "/") + "/")]
    assert left_in == []
    assert (REPO / "host" / "model" / "validation" / "validate.py").is_file()


def test_test_helpers_are_imported_relatively() -> None:
    tests = REPO / "tests"
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        siblings = {p.stem for p in path.parent.glob("*.py")}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name.partition(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.partition(".")[0]]
            else:
                continue
            offenders += [f"{path.relative_to(REPO)}: import {n}" for n in names if n in siblings]
    assert offenders == [], "import test helpers relatively (from . import ...): " + "; ".join(offenders)
