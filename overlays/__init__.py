"""zynpu.overlays: the PYNQ overlay (Vivado block-design Tcl per board) and its Python drivers.

The drivers (`pynq_driver`) import pynq; nothing else here does.
"""
