"""zynpu.tile: the host's view of the NPU tile, read from the exported manifest.

`manifest` loads the manifest, `packing` lays out job packets, `reference` is the bit-exact numpy model
of the tile (the `ref` device) including its cycle accounting.
"""
