# Vivado batch flow for one board; run by overlays/build_overlay.py (`make overlay BOARD=...`) as
#   vivado -mode batch -source overlays/build.tcl -tclargs build/overlay/<board>/zynpu_params.tcl
# Project -> block design -> synthesis -> implementation -> bitstream -> reports -> zynpu.bit/.hwh.

set params [lindex $argv 0]
source $params
source $zynpu(board_file)
source [file join [file dirname [file normalize [info script]]] zynpu_bd.tcl]

set found [version -short]
if {![string match "$board(vivado)*" $found]} {
    set message "Vivado $found, but $board(name)'s PYNQ image expects overlays from Vivado $board(vivado)"
    if {!$zynpu(allow_version_mismatch)} {
        error "$message (pass --allow-version-mismatch to build anyway)"
    }
    puts "WARNING: zynpu: $message"
}

create_project zynpu $zynpu(project_dir) -part $board(part) -force
# Vivado 2022.1 sees the board files installed through the XHub store (KV260's) only once the store's
# folder is registered; without it the board-part check below fails although the files are there.
if {[catch {set_param board.repoPaths [get_property LOCAL_ROOT_DIR [xhub::get_xstores xilinx_board_store]]} message]} {
    puts "WARNING: zynpu: no XHub board store registered ($message)"
}
if {[llength [get_board_parts -quiet $board(board_part)]] == 0} {
    error "board files for $board(board_part) are not installed in this Vivado (Ultra96-V2: Avnet's bdf repository)"
}
set_property board_part $board(board_part) [current_project]
if {$board(board_connections) ne ""} {
    set_property board_connections $board(board_connections) [current_project]
}
add_files -norecurse $zynpu(verilog)
update_compile_order -fileset sources_1

create_bd_design zynpu
zynpu_create_design
validate_bd_design
save_bd_design

file mkdir $zynpu(out_dir) $zynpu(report_dir)
set info [open [file join $zynpu(report_dir) build_info.txt] w]
puts $info "vivado $found"
puts $info "clock_mhz [get_property CONFIG.PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ [get_bd_cells ps]]"
close $info

set bd [get_files zynpu.bd]
generate_target all $bd
add_files -norecurse [make_wrapper -files $bd -top]
set_property top zynpu_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs $zynpu(jobs)
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    error "implementation did not finish: see [get_property DIRECTORY [get_runs impl_1]]/runme.log"
}
open_run impl_1
report_timing_summary -max_paths 10 -file [file join $zynpu(report_dir) timing_summary.rpt]
report_utilization -file [file join $zynpu(report_dir) utilization.rpt]

file copy -force [lindex [glob [get_property DIRECTORY [get_runs impl_1]]/*.bit] 0] \
    [file join $zynpu(out_dir) zynpu.bit]
# The hand-off file PYNQ needs; `get_files ... *.hwh` may return nothing after a full implementation run.
set hwh [file join $zynpu(project_dir) zynpu.gen sources_1 bd zynpu hw_handoff zynpu.hwh]
if {![file exists $hwh]} {
    set hwh [lindex [get_files -all -quiet -of_objects $bd *.hwh] 0]
}
if {$hwh eq "" || ![file exists $hwh]} {
    error "no zynpu.hwh in $zynpu(project_dir)/zynpu.gen/sources_1/bd/zynpu/hw_handoff: see the Vivado log"
}
file copy -force $hwh [file join $zynpu(out_dir) zynpu.hwh]
puts "zynpu: bitstream and hwh in $zynpu(out_dir)"
