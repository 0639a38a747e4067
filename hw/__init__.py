"""zynpu.hw: the NPU tile's RTL (Amaranth 0.5) and the one definition of its interface.

`spec`, `regmap` and `manifest` are plain Python (no Amaranth import) so the board's host runtime can
use them; `rtl/` holds the Amaranth components, one per file.
"""
