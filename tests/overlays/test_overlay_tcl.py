"""The overlay Tcl agrees with hw/manifest.json: run it in tclsh with Vivado's commands stubbed out.

The stubs record every create_bd_cell / set_property / connect / assign call; the test checks the
recorded block design against the manifest (names, widths, address window) for every board.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zynpu.overlays import build_overlay as flow

OVERLAYS = Path(flow.__file__).parent
HW = json.loads((flow.REPO_ROOT / "hw" / "manifest.json").read_text())
TCLSH = shutil.which("tclsh")

# The IP each Vivado release offers that the design uses: 2022.1 has the concat as xlconcat; 2025.2
# has ilconcat (inline HDL) instead.
CATALOGUES = {
    "2022.1": "xilinx.com:ip:zynq_ultra_ps_e:3.4 xilinx.com:ip:axi_dma:7.1 xilinx.com:ip:smartconnect:1.0 "
    "xilinx.com:ip:proc_sys_reset:5.0 xilinx.com:ip:xlconcat:2.1 xilinx.com:ip:axi_intc:4.1",
    "2025.2": "xilinx.com:ip:zynq_ultra_ps_e:3.5 xilinx.com:ip:axi_dma:7.1 xilinx.com:ip:smartconnect:1.0 "
    "xilinx.com:ip:proc_sys_reset:5.0 xilinx.com:inline_hdl:ilconcat:1.0 xilinx.com:ip:axi_intc:4.1",
}
CONCAT = {"2022.1": "xilinx.com:ip:xlconcat:2.1", "2025.2": "xilinx.com:inline_hdl:ilconcat:1.0"}

# Vivado stand-ins: each records one tab-separated line; get_* return the object's path.
STUBS = r"""
set ::calls {}
proc rec {args} { lappend ::calls [join $args "\t"] }
proc get_ipdefs {args} {
    set pattern [lindex $args end]
    set hits {}
    foreach vlnv $::catalogue { if {[string match $pattern $vlnv]} { lappend hits $vlnv } }
    return $hits
}
proc create_bd_cell {args} {
    set opts [dict create -type {} -vlnv {} -reference {}]
    set name [lindex $args end]
    foreach {k v} [lrange $args 0 end-1] { dict set opts $k $v }
    rec cell [dict get $opts -type] [dict get $opts -vlnv][dict get $opts -reference] $name
    return $name
}
proc apply_bd_automation {args} { rec automation {*}$args }
proc set_property {args} {
    if {[lindex $args 0] eq "-dict"} {
        foreach {k v} [lindex $args 1] { rec prop [lindex $args 2] $k $v }
    } else {
        rec prop [lindex $args 2] [lindex $args 0] [lindex $args 1]
    }
}
foreach cmd {get_bd_pins get_bd_intf_pins get_bd_addr_spaces get_bd_addr_segs get_bd_cells} {
    proc $cmd {args} { return [lindex $args end] }
}
proc connect_bd_intf_net {a b} { rec intf $a $b }
proc connect_bd_net {args} { rec net {*}$args }
proc assign_bd_address {args} { rec addr {*}$args }
"""


def run_design(tmp_path: Path, board: str) -> list[list[str]]:
    params = flow.write_params(
        tmp_path / "zynpu_params.tcl", HW, {"board_file": flow.write_board_tcl(tmp_path / "board.tcl", board)}
    )
    script = tmp_path / "run.tcl"
    catalogue = CATALOGUES[flow.read_board(board)["vivado"]]
    script.write_text(
        STUBS
        + f"set ::catalogue {{{catalogue}}}\n"
        + f"source {{{params}}}\nsource $zynpu(board_file)\nsource {{{OVERLAYS / 'zynpu_bd.tcl'}}}\n"
        + "zynpu_create_design\nforeach c $::calls { puts $c }\n"
    )
    result = subprocess.run([TCLSH, str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def props(calls: list[list[str]], obj: str) -> dict[str, str]:
    return {c[2]: c[3] for c in calls if c[0] == "prop" and c[1] == obj}


pytestmark = pytest.mark.skipif(TCLSH is None, reason="tclsh not installed (apt-get install tcl)")


def test_params_come_from_the_manifest(tmp_path: Path) -> None:
    path = flow.write_params(tmp_path / "p.tcl", HW, {})
    values = dict(re.findall(r"^set zynpu\((\w+)\) (\S+)$", path.read_text(), re.M))
    ports = HW["ports"]
    assert values["top"] == HW["name"] == "zynpu_tile"
    assert values["vlnv"] == HW["vlnv"]
    assert int(values["stream_bits"]) == HW["tile"]["stream_bits"] == 8 * HW["tile"]["lanes"]
    assert values["axil_range"] == flow.size_text(2 ** HW["axi_lite"]["addr_bits"]) == "4K"
    assert (values["clock"], values["reset"], values["interrupt"]) == (
        ports["clock"],
        ports["reset"],
        ports["interrupt"],
    )
    assert values["reset_polarity"] == ("ACTIVE_LOW" if ports["reset_active_low"] else "ACTIVE_HIGH")
    assert (values["axis_in"], values["axis_out"], values["axi_lite"]) == ("s_axis", "m_axis", "s_axi")
    for key in ("axis_in", "axis_out", "axi_lite"):
        assert all(s.startswith(values[key] + "_") for s in ports[key]["signals"])


def test_design_tcl_names_no_tile_constant() -> None:
    """Every tile name and width reaches the design through zynpu(...), never as a literal."""
    text = (OVERLAYS / "zynpu_bd.tcl").read_text()
    code = "\n".join(line.split("#")[0] for line in text.splitlines())
    for literal in ("zynpu_tile", "128", "4K"):
        assert literal not in code, literal
    assert not re.findall(r"tile/[^$\s]", code), "a tile pin named literally instead of from zynpu(...)"
    for key in (
        "stream_bits",
        "axil_range",
        "top",
        "clock",
        "reset",
        "interrupt",
        "axis_in",
        "axis_out",
        "axi_lite",
    ):
        assert f"$zynpu({key})" in code, key


@pytest.mark.parametrize("board", flow.BOARDS)
def test_block_design_matches_the_manifest(tmp_path: Path, board: str) -> None:
    calls = run_design(tmp_path, board)
    ports, bits = HW["ports"], str(HW["tile"]["stream_bits"])
    cells = {c[3]: (c[1], c[2]) for c in calls if c[0] == "cell"}
    assert cells["tile"] == ("module", HW["name"])
    assert cells["dma"] == ("ip", "xilinx.com:ip:axi_dma:7.1")
    vivado = flow.read_board(board)["vivado"]
    assert cells["irq_concat"] == ("ip", CONCAT[vivado])  # found in that release's catalogue, unpinned
    assert cells["intc"] == ("ip", "xilinx.com:ip:axi_intc:4.1")

    dma = props(calls, "dma")
    assert (dma["CONFIG.c_include_sg"], dma["CONFIG.c_sg_length_width"]) == ("0", "26")
    for key in (
        "m_axi_mm2s_data_width",
        "m_axis_mm2s_tdata_width",
        "m_axi_s2mm_data_width",
        "s_axis_s2mm_tdata_width",
    ):
        assert dma[f"CONFIG.c_{key}"] == bits, key

    board_values = flow.read_board(board)
    hp = int(board_values["hp_port"])
    ps = props(calls, "ps")
    ps_props = [c[2] for c in calls if c[0] == "prop" and c[1] == "ps"]
    assert ps["CONFIG.PSU__OVERRIDE__BASIC_CLOCK"] == "0"
    assert ps_props.index("CONFIG.PSU__OVERRIDE__BASIC_CLOCK") < ps_props.index(
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"
    ), "the basic-clock override must be cleared before the PL clock is set"
    assert ps[f"CONFIG.PSU__USE__S_AXI_GP{hp + 2}"] == "1"
    assert ps[f"CONFIG.PSU__SAXIGP{hp + 2}__DATA_WIDTH"] == bits
    assert ps["CONFIG.PSU__USE__IRQ0"] == "1"
    assert ps["CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"] == board_values["clock_mhz"]
    assert sum(ps[f"CONFIG.PSU__USE__M_AXI_GP{gp}"] == "1" for gp in range(3)) == 1

    intf = {tuple(c[1:]) for c in calls if c[0] == "intf"}
    assert ("dma/M_AXIS_MM2S", f"tile/{ports['axis_in']['prefix']}") in intf
    assert (f"tile/{ports['axis_out']['prefix']}", "dma/S_AXIS_S2MM") in intf
    assert ("ctrl_interconnect/M01_AXI", f"tile/{ports['axi_lite']['prefix']}") in intf
    assert ("data_interconnect/M00_AXI", f"ps/S_AXI_HP{hp}_FPD") in intf
    assert (f"ps/M_AXI_{board_values['hpm_port']}", "ctrl_interconnect/S00_AXI") in intf

    nets = [c[1:] for c in calls if c[0] == "net"]
    clock = next(n for n in nets if n[0] == "ps/pl_clk0")
    assert (
        f"tile/{ports['clock']}" in clock
        and f"ps/saxihp{hp}_fpd_aclk" in clock
        and "dma/m_axi_s2mm_aclk" in clock
    )
    reset = next(n for n in nets if n[0] == "reset/peripheral_aresetn")
    assert f"tile/{ports['reset']}" in reset and "dma/axi_resetn" in reset
    assert [f"tile/{ports['interrupt']}", "irq_concat/In2"] in nets
    # Interrupts reach the PS through an AXI interrupt controller (pynq only sees those).
    weight_ports = int(board_values.get("weight_ports", 1))
    mi_intc = f"ctrl_interconnect/M{2 * weight_ports:02d}_AXI"
    assert ["irq_concat/dout", "intc/intr"] in nets and ["intc/irq", "ps/pl_ps_irq0"] in nets
    assert not any(n[-1] == "ps/pl_ps_irq0" and n[0] != "intc/irq" for n in nets)
    assert (mi_intc, "intc/s_axi") in intf
    assert "intc/s_axi_aclk" in clock and "intc/s_axi_aresetn" in reset
    assert props(calls, "irq_concat")["CONFIG.NUM_PORTS"] == str(3 * weight_ports)
    assert props(calls, "ctrl_interconnect")["CONFIG.NUM_MI"] == str(2 * weight_ports + 1)
    for p in range(1, weight_ports):  # every further weight port: its own DMA, HP port and tile
        assert cells[f"tile{p}"] == ("module", HW["name"]) and f"dma{p}" in cells
        assert ps[f"CONFIG.PSU__USE__S_AXI_GP{hp + p + 2}"] == "1"
        assert ps[f"CONFIG.PSU__SAXIGP{hp + p + 2}__DATA_WIDTH"] == bits
        assert (f"data_interconnect{p}/M00_AXI", f"ps/S_AXI_HP{hp + p}_FPD") in intf
        assert (f"dma{p}/M_AXIS_MM2S", f"tile{p}/{ports['axis_in']['prefix']}") in intf
        assert (f"ctrl_interconnect/M{2 * p + 1:02d}_AXI", f"tile{p}/{ports['axi_lite']['prefix']}") in intf
        assert f"tile{p}/{ports['clock']}" in clock and f"ps/saxihp{hp + p}_fpd_aclk" in clock
        assert f"tile{p}/{ports['reset']}" in reset
        assert [f"tile{p}/{ports['interrupt']}", f"irq_concat/In{3 * p + 2}"] in nets
        assert any(c[0] == "addr" and c[-1] == f"tile{p}/{ports['axi_lite']['prefix']}/reg0" for c in calls)
    assert props(calls, f"tile/{ports['clock']}")["CONFIG.ASSOCIATED_BUSIF"] == "s_axis:m_axis:s_axi"

    # Every tile pin the design touches is a manifest port or interface.
    names = {
        ports["clock"],
        ports["reset"],
        ports["interrupt"],
        *(ports[k]["prefix"] for k in ("axis_in", "axis_out", "axi_lite")),
    }
    used = {word.split("/")[1] for call in calls for word in call if re.match(r"tile\d*/", word)}
    assert used <= names | {f"{ports['axi_lite']['prefix']}"}, used - names

    addr = next(c for c in calls if c[0] == "addr" and len(c) > 1)
    assert addr[addr.index("-range") + 1] == flow.size_text(2 ** HW["axi_lite"]["addr_bits"])
    windows = {"HPM0_FPD": 0xA000_0000, "HPM1_FPD": 0xB000_0000, "HPM0_LPD": 0x8000_0000}  # UG1085
    assert int(addr[addr.index("-offset") + 1], 16) == windows[board_values["hpm_port"]]
    assert addr[-1] == f"tile/{ports['axi_lite']['prefix']}/reg0"


def test_build_tcl_stops_on_a_wrong_vivado_version(tmp_path: Path) -> None:
    board_file = flow.write_board_tcl(tmp_path / "b.tcl", "zcu104")
    flow_values = {"board_file": board_file, "allow_version_mismatch": 0}
    params = flow.write_params(tmp_path / "p.tcl", HW, flow_values)
    script = tmp_path / "run.tcl"
    script.write_text(
        STUBS + "proc version {args} { return 2022.1 }\nproc create_project {args} { rec project {*}$args }\n"
        + f"set argv [list {{{params}}}]\nsource {{{OVERLAYS / 'build.tcl'}}}\n"
    )  # fmt: skip
    result = subprocess.run([TCLSH, str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "Vivado 2022.1, but zcu104's PYNQ image expects overlays from Vivado 2025.2" in result.stderr


def test_boards_follow_their_pynq_images() -> None:
    assert set(flow.BOARDS) == {"kv260", "zcu104", "ultra96v2"}
    assert {b: flow.read_board(b)["vivado"] for b in flow.BOARDS} == {
        "kv260": "2022.1", "ultra96v2": "2022.1", "zcu104": "2025.2"
    }  # fmt: skip
    assert flow.read_board("kv260")["part"].startswith("xck26")


def test_flow_without_vivado_stops_with_a_message(tmp_path: Path) -> None:
    python = Path(flow.sys.executable)
    result = subprocess.run(
        [str(python), "-m", "zynpu.overlays.build_overlay", "--board", "kv260",
         "--build-dir", str(tmp_path / "b"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "Vivado is not on PATH: kv260 needs Vivado 2022.1" in result.stderr
    assert not (tmp_path / "o" / "kv260" / "zynpu.bit").exists()


def test_build_tcl_registers_the_board_store_and_takes_the_handoff_hwh(tmp_path: Path) -> None:
    """The whole batch flow with every Vivado command recorded (Tcl's `unknown`) and a few answered."""
    project, out, impl = tmp_path / "project", tmp_path / "out", tmp_path / "impl"
    handoff = project / "zynpu.gen" / "sources_1" / "bd" / "zynpu" / "hw_handoff"
    handoff.mkdir(parents=True)
    (handoff / "zynpu.hwh").write_text("<hwh from hw_handoff/>")
    impl.mkdir()
    (impl / "zynpu_wrapper.bit").write_bytes(b"bit")
    params = flow.write_params(
        tmp_path / "p.tcl", HW,
        {"board_file": flow.write_board_tcl(tmp_path / "board.tcl", "kv260"), "allow_version_mismatch": 0,
         "project_dir": project,
         "out_dir": out, "report_dir": tmp_path / "reports", "verilog": tmp_path / "tile.v", "jobs": 2},
    )  # fmt: skip
    answers = r"""
proc unknown {args} { rec {*}$args; return "" }
proc version {args} { return 2022.1 }
proc get_board_parts {args} { rec get_board_parts {*}$args; return part }
proc get_property {name args} {
    rec get_property $name {*}$args
    switch -- $name {
        LOCAL_ROOT_DIR { return /xhub/store }
        PROGRESS { return 100% }
        DIRECTORY { return $::impl }
    }
    return 250
}
"""
    script = tmp_path / "run.tcl"
    script.write_text(
        STUBS + f"set ::catalogue {{{CATALOGUES['2022.1']}}}\nset ::impl {{{impl}}}\n" + answers
        + f"set argv [list {{{params}}}]\nsource {{{OVERLAYS / 'build.tcl'}}}\n"
        + "foreach c $::calls { puts $c }\n"
    )  # fmt: skip
    result = subprocess.run([TCLSH, str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    calls = [line.split("\t") for line in result.stdout.splitlines()]
    order = [c[0] for c in calls]
    assert ["set_param", "board.repoPaths", "/xhub/store"] in calls
    assert order.index("set_param") < order.index("get_board_parts")
    assert (out / "zynpu.hwh").read_text() == "<hwh from hw_handoff/>"
    assert (out / "zynpu.bit").read_bytes() == b"bit"
