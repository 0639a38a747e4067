"""Where a deployed bitstream is looked for: one definition, right under sudo and under root's Jupyter."""

from __future__ import annotations

import json
import pwd
from pathlib import Path

import pytest

from zynpu.board import layout


def test_under_sudo_the_login_users_deploy_folder_is_found(tmp_path: Path) -> None:
    user = next(p for p in pwd.getpwall() if p.pw_uid != 0)  # any account of this machine
    found = layout.bitstream_candidates({"SUDO_USER": user.pw_name, "HOME": "/root"}, cwd=tmp_path)
    assert found[-1] == Path(user.pw_dir) / "zynpu" / "overlay" / "zynpu.bit"
    assert all(not str(p).startswith("/root/") for p in found)


def test_the_pointer_beside_the_notebooks_names_the_deploy_folder(tmp_path: Path) -> None:
    deploy = tmp_path / "home" / "ubuntu" / "zynpu"
    (deploy / "overlay").mkdir(parents=True)
    (deploy / "overlay" / "zynpu.bit").write_bytes(b"\0")
    notebooks = tmp_path / "root" / "jupyter_notebooks" / "zynpu"
    notebooks.mkdir(parents=True)
    (notebooks / "zynpu_board.json").write_text(json.dumps({"remote_dir": str(deploy)}))
    environ = {"HOME": str(tmp_path / "root")}  # root's Jupyter: no variables, no SUDO_USER
    assert layout.deployed_bitstream(environ, cwd=notebooks) == deploy / "overlay" / "zynpu.bit"


def test_explicit_variables_come_first_and_a_miss_lists_every_place(tmp_path: Path) -> None:
    bit = tmp_path / "mine.bit"
    bit.write_bytes(b"\0")
    environ = {"ZYNPU_BITSTREAM": str(bit), "ZYNPU_REMOTE_DIR": str(tmp_path / "d"), "HOME": str(tmp_path)}
    assert layout.deployed_bitstream(environ, cwd=tmp_path) == bit
    bit.unlink()
    with pytest.raises(FileNotFoundError) as caught:
        layout.deployed_bitstream(environ, cwd=tmp_path)
    home_bit = tmp_path / "zynpu" / "overlay" / "zynpu.bit"
    for place in (bit, tmp_path / "d" / "overlay" / "zynpu.bit", home_bit):
        assert str(place) in str(caught.value)


def test_hil_exports_the_folder_deploy_fills(tmp_path: Path) -> None:
    from zynpu.board.deploy import bitstream_items
    from zynpu.board.hil import remote_command
    from zynpu.overlays import bitstream as bs

    folder = tmp_path / "kv260"
    folder.mkdir()
    for name in (bs.BIT_NAME, bs.HWH_NAME):
        (folder / name).write_bytes(b"x")
    bs.write_manifest(folder, board="kv260", hw_manifest=bs.host_manifest(), vivado_version="2022.1",
                      expected_vivado="2022.1", clock_mhz=250.0,
                      timing={"wns_ns": 0.1, "tns_ns": 0, "whs_ns": 0, "ths_ns": 0, "failing_endpoints": 0,
                              "met": True}, utilization={})  # fmt: skip
    remote_dir = "/home/ubuntu/zynpu"
    shipped = {f"{remote_dir}/{item.remote}" for item in bitstream_items(folder)}
    command = remote_command(remote_dir, "true", overlay=True)
    parts = [part.removeprefix("export ") for part in command.split("; ") if part.startswith("export ")]
    exported = dict(part.split("=", 1) for part in parts)
    assert f"{exported['ZYNPU_BITSTREAM_DIR']}/zynpu.bit" in shipped
    environ = {k: v for k, v in exported.items() if not k.startswith("PYTHONPATH")}
    assert layout.bitstream_candidates(environ, cwd=tmp_path)[0] == Path(remote_dir) / "overlay" / "zynpu.bit"
