"""Amaranth components of the NPU tile, one per file; `top.ZynpuTile` is what Vivado sees."""
