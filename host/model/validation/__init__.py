"""zynpu.model.validation: checking our forward against llama.cpp, on a development machine only.

llama.cpp's CPU numerics (`llamacpp_numerics`, `llamacpp_kernels`) and the comparison itself
(`python -m zynpu.model.validation.validate`). Nothing the board runs imports this package, and the wheel
`zynpu board deploy` builds leaves it out (tests/test_layering.py checks both).
"""
