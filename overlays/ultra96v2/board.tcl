# Avnet Ultra96-V2 (XCZU3EG, speed grade -1) for the community PYNQ 3.0.1 image (Vivado 2022.1).
# Needs Avnet's board files in Vivado's board repository. The -1 part gets a lower clock target.
# Plain `set board(key) value` lines only: overlays/build_overlay.py reads them without Tcl.
set board(name) ultra96v2
set board(part) xczu3eg-sbva484-1-i
set board(board_part) avnet.com:ultra96v2:part0:1.2
set board(board_connections) {}
set board(vivado) 2022.1
set board(clock_mhz) 200
set board(hp_port) 0
set board(hpm_port) HPM0_FPD
# Peak PS DDR bandwidth (GB/s), for the roofline: shared by the HP ports and the CPUs.
set board(ddr_gbytes_per_s) 8.5
# Weight ports P: HP ports, each with its own AXI DMA and tile. Two 3.2 GB/s ports at 200 MHz give 6.4
# of the ~7.9 GB/s the LPDDR4 sustains; whether a third fits the XCZU3EG beside the tiles is unsynthesized.
set board(weight_ports) 2
