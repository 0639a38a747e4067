"""zynpu.model: quantized decoder-only transformers (Qwen2/2.5, Qwen3, Llama, Gemma 3) for the NPU.

Every linear layer runs as an int8 job on a `MatmulEngine` (the NPU, or `NumpyEngine` here); norms,
RoPE, softmax and residuals stay float32 numpy on the host. `engine=None` is the float32 reference.
Heavy modules (gguf, tokenizers) are imported by the submodules that need them, not here.
"""

from zynpu.model.config import ModelConfig, UnsupportedModelError
from zynpu.model.errors import ContextOverflowError, ModelLoadError

__all__ = ["ContextOverflowError", "ModelConfig", "ModelLoadError", "UnsupportedModelError"]
