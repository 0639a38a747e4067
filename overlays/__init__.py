"""zynpu.overlays: the PYNQ overlay (Vivado block-design Tcl per board) and its Python drivers."""
