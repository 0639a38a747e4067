# Kria KV260 (K26 SOM on the KV260 carrier) for Kria-PYNQ 3.0.1, whose overlays come from Vivado 2022.1.
# Plain `set board(key) value` lines only: overlays/build_overlay.py reads them without Tcl.
set board(name) kv260
set board(part) xck26-sfvc784-2LV-c
set board(board_part) xilinx.com:kv260_som:part0:1.3
set board(board_connections) {som240_1_connector xilinx.com:kv260_carrier:som240_1_connector:1.3}
set board(vivado) 2022.1
set board(clock_mhz) 250
set board(hp_port) 0
set board(hpm_port) HPM0_FPD
# Peak PS DDR bandwidth (GB/s), for the roofline: shared by the HP ports and the CPUs.
set board(ddr_gbytes_per_s) 19.2
# Weight ports P: HP ports, each with its own AXI DMA and tile (zynpu.npu splits a job over them by N).
set board(weight_ports) 4
