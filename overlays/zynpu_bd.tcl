# The zynpu block design, identical on every board: Zynq UltraScale+ PS, AXI DMA, and the tile as an RTL
# module reference. Nothing here names a board or restates the tile: it reads two arrays,
#   zynpu(...)  written from hw/manifest.json by overlays/build_overlay.py (zynpu_params.tcl),
#   board(...)  from overlays/boards.json (build_overlay.py writes it as Tcl).
# Sourcing this file only defines procs; overlays/build.tcl calls zynpu_create_design.

# Newest installed version of the first IP found among `candidates` (VENDOR:LIBRARY:NAME): no IP
# version is pinned, so one script serves Vivado 2022.1 and 2025.2 (where xlconcat became ilconcat).
proc zynpu_ipdef {candidates} {
    foreach name $candidates {
        set defs [lsort -dictionary [get_ipdefs -all -quiet "${name}:*"]]
        if {[llength $defs] > 0} {
            return [lindex $defs end]
        }
    }
    error "none of the IP cores {$candidates} is in this Vivado's IP catalogue"
}

# The PS's S_AXI_HPn_FPD is its slave port GP(n+2): returns {gp-index interface clock-pin}.
proc zynpu_hp_port {hp} {
    if {$hp < 0 || $hp > 3} {
        error "board(hp_port) must be 0..3, not $hp"
    }
    return [list [expr {$hp + 2}] S_AXI_HP${hp}_FPD saxihp${hp}_fpd_aclk]
}

# The PS master port for control: returns {gp-index interface clock-pin window-base}; the base is where
# the port's address window starts in the Zynq UltraScale+ map (UG1085).
proc zynpu_hpm_port {hpm} {
    switch -- $hpm {
        HPM0_FPD { return {0 M_AXI_HPM0_FPD maxihpm0_fpd_aclk 0xA0000000} }
        HPM1_FPD { return {1 M_AXI_HPM1_FPD maxihpm1_fpd_aclk 0xB0000000} }
        HPM0_LPD { return {2 M_AXI_HPM0_LPD maxihpm0_lpd_aclk 0x80000000} }
        default { error "board(hpm_port) must be HPM0_FPD, HPM1_FPD or HPM0_LPD, not $hpm" }
    }
}

proc zynpu_pins {cell names} {
    set pins {}
    foreach name $names {
        lappend pins [get_bd_pins $cell/$name]
    }
    return $pins
}

# Weight port p's cell names: port 0 keeps the single-port names (dma, tile, data_interconnect).
proc zynpu_port_suffix {p} {
    return [expr {$p == 0 ? "" : $p}]
}

# Bytes of an address-range text as Vivado writes it (4K, 1M, 1G or a plain number).
proc zynpu_range_bytes {range} {
    set scale [dict create K 1024 M 1048576 G 1073741824]
    set unit [string index $range end]
    if {[dict exists $scale $unit]} {
        return [expr {[string range $range 0 end-1] * [dict get $scale $unit]}]
    }
    return $range
}

proc zynpu_create_design {} {
    global zynpu board
    set bits $zynpu(stream_bits)
    # P weight ports (board(weight_ports), default 1): HP ports hp_port .. hp_port+P-1, each with its own
    # AXI DMA and tile; the host splits a job over them by N (zynpu.npu.plan).
    set ports [expr {[info exists board(weight_ports)] ? $board(weight_ports) : 1}]
    if {$ports < 1 || $board(hp_port) + $ports > 4} {
        error "board(weight_ports) $ports from board(hp_port) $board(hp_port) needs HP ports beyond HP3"
    }
    lassign [zynpu_hpm_port $board(hpm_port)] hpm_gp hpm_intf hpm_clk hpm_base

    # PS: board preset (DDR, MIO), then P HP slaves at the stream width, one HPM master, IRQ0, pl_clk0.
    set ps [create_bd_cell -type ip -vlnv [zynpu_ipdef xilinx.com:ip:zynq_ultra_ps_e] ps]
    apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset 1} $ps
    # Clear the preset's basic-clock override first, or the PL clock frequency below is not applied.
    set_property CONFIG.PSU__OVERRIDE__BASIC_CLOCK 0 $ps
    set config {}
    foreach gp {0 1 2} {
        lappend config CONFIG.PSU__USE__M_AXI_GP$gp [expr {$gp == $hpm_gp}]
    }
    set hp_clks {}
    for {set p 0} {$p < $ports} {incr p} {
        lassign [zynpu_hp_port [expr {$board(hp_port) + $p}]] hp_gp hp_intf hp_clk
        lappend config CONFIG.PSU__USE__S_AXI_GP$hp_gp 1 CONFIG.PSU__SAXIGP${hp_gp}__DATA_WIDTH $bits
        lappend hp_clks $hp_clk
    }
    lappend config CONFIG.PSU__USE__IRQ0 1 CONFIG.PSU__FPGA_PL0_ENABLE 1
    lappend config CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $board(clock_mhz)
    set_property -dict $config $ps

    set ctrl [create_bd_cell -type ip -vlnv [zynpu_ipdef xilinx.com:ip:smartconnect] ctrl_interconnect]
    set_property -dict [list CONFIG.NUM_SI 1 CONFIG.NUM_MI [expr {2 * $ports + 1}]] $ctrl
    create_bd_cell -type ip -vlnv [zynpu_ipdef xilinx.com:ip:proc_sys_reset] reset
    set irq [create_bd_cell -type ip -vlnv [zynpu_ipdef {xilinx.com:ip:xlconcat xilinx.com:inline_hdl:ilconcat}] irq_concat]
    set_property CONFIG.NUM_PORTS [expr {3 * $ports}] $irq
    # pynq creates interrupt objects only for pins behind an AXI interrupt controller; one output to the PS.
    set intc [create_bd_cell -type ip -vlnv [zynpu_ipdef xilinx.com:ip:axi_intc] intc]
    set_property CONFIG.C_IRQ_CONNECTION 1 $intc

    # Control: PS master -> SmartConnect -> each port's DMA registers and tile AXI4-Lite, then the intc.
    connect_bd_intf_net [get_bd_intf_pins ps/$hpm_intf] [get_bd_intf_pins ctrl_interconnect/S00_AXI]
    set mi_intc [format "M%02d_AXI" [expr {2 * $ports}]]
    connect_bd_intf_net [get_bd_intf_pins ctrl_interconnect/$mi_intc] [get_bd_intf_pins intc/s_axi]
    set clock_pins {}
    set reset_pins {}
    set window [zynpu_range_bytes $zynpu(axil_range)]

    for {set p 0} {$p < $ports} {incr p} {
        set x [zynpu_port_suffix $p]
        lassign [zynpu_hp_port [expr {$board(hp_port) + $p}]] hp_gp hp_intf hp_clk

        # AXI DMA, simple mode: both directions at the stream width, 26-bit length register (64 MiB transfers).
        set dma [create_bd_cell -type ip -vlnv [zynpu_ipdef xilinx.com:ip:axi_dma] dma$x]
        set_property -dict [list \
            CONFIG.c_include_sg 0 \
            CONFIG.c_sg_length_width $zynpu(dma_length_bits) \
            CONFIG.c_addr_width 64 \
            CONFIG.c_include_mm2s 1 \
            CONFIG.c_include_s2mm 1 \
            CONFIG.c_m_axi_mm2s_data_width $bits \
            CONFIG.c_m_axis_mm2s_tdata_width $bits \
            CONFIG.c_m_axi_s2mm_data_width $bits \
            CONFIG.c_s_axis_s2mm_tdata_width $bits \
            CONFIG.c_mm2s_burst_size 16 \
            CONFIG.c_s2mm_burst_size 16 \
        ] $dma

        # The tile: Verilog from `zynpu hw verilog`, added to the project before this runs.
        set tile [create_bd_cell -type module -reference $zynpu(top) tile$x]
        set clock_pin [get_bd_pins tile$x/$zynpu(clock)]
        set busif "$zynpu(axis_in):$zynpu(axis_out):$zynpu(axi_lite)"
        if {[catch {
            set_property -dict [list CONFIG.ASSOCIATED_BUSIF $busif CONFIG.ASSOCIATED_RESET $zynpu(reset)] $clock_pin
            set_property CONFIG.POLARITY $zynpu(reset_polarity) [get_bd_pins tile$x/$zynpu(reset)]
            set_property CONFIG.SENSITIVITY LEVEL_HIGH [get_bd_pins tile$x/$zynpu(interrupt)]
        } message]} {
            puts "WARNING: zynpu: could not annotate the tile's pins ($message);"
            puts "WARNING: zynpu: the RTL's X_INTERFACE_PARAMETER attributes must declare them instead"
        }
        set data [create_bd_cell -type ip -vlnv [zynpu_ipdef xilinx.com:ip:smartconnect] data_interconnect$x]
        set_property -dict [list CONFIG.NUM_SI 2 CONFIG.NUM_MI 1] $data

        # Control: this port's DMA registers and tile AXI4-Lite.
        set mi_dma [format "M%02d_AXI" [expr {2 * $p}]]
        set mi_tile [format "M%02d_AXI" [expr {2 * $p + 1}]]
        connect_bd_intf_net [get_bd_intf_pins ctrl_interconnect/$mi_dma] [get_bd_intf_pins dma$x/S_AXI_LITE]
        connect_bd_intf_net [get_bd_intf_pins ctrl_interconnect/$mi_tile] [get_bd_intf_pins tile$x/$zynpu(axi_lite)]
        # Data: DMA <-> SmartConnect <-> its own HP port; DMA streams <-> its own tile.
        connect_bd_intf_net [get_bd_intf_pins dma$x/M_AXI_MM2S] [get_bd_intf_pins data_interconnect$x/S00_AXI]
        connect_bd_intf_net [get_bd_intf_pins dma$x/M_AXI_S2MM] [get_bd_intf_pins data_interconnect$x/S01_AXI]
        connect_bd_intf_net [get_bd_intf_pins data_interconnect$x/M00_AXI] [get_bd_intf_pins ps/$hp_intf]
        connect_bd_intf_net [get_bd_intf_pins dma$x/M_AXIS_MM2S] [get_bd_intf_pins tile$x/$zynpu(axis_in)]
        connect_bd_intf_net [get_bd_intf_pins tile$x/$zynpu(axis_out)] [get_bd_intf_pins dma$x/S_AXIS_S2MM]

        lappend clock_pins $clock_pin {*}[zynpu_pins dma$x {s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk}] \
            [get_bd_pins data_interconnect$x/aclk]
        lappend reset_pins [get_bd_pins dma$x/axi_resetn] [get_bd_pins data_interconnect$x/aresetn] \
            [get_bd_pins tile$x/$zynpu(reset)]

        # Interrupts: this port's DMA MM2S, DMA S2MM, tile -> intc inputs 3p, 3p+1, 3p+2.
        connect_bd_net [get_bd_pins dma$x/mm2s_introut] [get_bd_pins irq_concat/In[expr {3 * $p}]]
        connect_bd_net [get_bd_pins dma$x/s2mm_introut] [get_bd_pins irq_concat/In[expr {3 * $p + 1}]]
        connect_bd_net [get_bd_pins tile$x/$zynpu(interrupt)] [get_bd_pins irq_concat/In[expr {3 * $p + 2}]]

        # The tile's register window is exactly its AXI4-Lite address space; port p's window follows
        # port p-1's from the start of the HPM port's window (-range needs an -offset).
        set offset [format 0x%X [expr {$hpm_base + $p * $window}]]
        assign_bd_address -target_address_space [get_bd_addr_spaces ps/Data] -offset $offset \
            -range $zynpu(axil_range) [get_bd_addr_segs tile$x/$zynpu(axi_lite)/reg0]
    }

    # One clock (pl_clk0 at the board's target) and one synchronised reset for everything.
    connect_bd_net [get_bd_pins ps/pl_clk0] {*}[zynpu_pins ps [list $hpm_clk {*}$hp_clks]] \
        [get_bd_pins ctrl_interconnect/aclk] [get_bd_pins intc/s_axi_aclk] \
        [get_bd_pins reset/slowest_sync_clk] {*}$clock_pins
    connect_bd_net [get_bd_pins ps/pl_resetn0] [get_bd_pins reset/ext_reset_in]
    connect_bd_net [get_bd_pins reset/peripheral_aresetn] [get_bd_pins ctrl_interconnect/aresetn] \
        [get_bd_pins intc/s_axi_aresetn] {*}$reset_pins
    # Interrupts (polling stays the fallback): every port's three lines -> intc -> pl_ps_irq0.
    connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins intc/intr]
    connect_bd_net [get_bd_pins intc/irq] [get_bd_pins ps/pl_ps_irq0]
    # The rest as Vivado assigns.
    assign_bd_address
}
