# ZCU104 (XCZU7EV) for the PYNQ 4.0 image, whose overlays come from Vivado 2025.2.
# Plain `set board(key) value` lines only: overlays/build_overlay.py reads them without Tcl.
set board(name) zcu104
set board(part) xczu7ev-ffvc1156-2-e
set board(board_part) xilinx.com:zcu104:part0:1.1
set board(board_connections) {}
set board(vivado) 2025.2
set board(clock_mhz) 250
set board(hp_port) 0
set board(hpm_port) HPM0_FPD
# Peak PS DDR bandwidth (GB/s), for the roofline: shared by the HP ports and the CPUs.
set board(ddr_gbytes_per_s) 19.2
# Weight ports P: HP ports, each with its own AXI DMA and tile (zynpu.npu splits a job over them by N).
set board(weight_ports) 4
