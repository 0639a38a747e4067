"""ctypes bindings of the native library: the signatures of its entry points, declared once."""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_double, c_float, c_int, c_void_p
from functools import lru_cache

import numpy as np

from .build import ensure_library

_SIGNATURES = {
    "zn_ports_new_ref": (c_void_p, [c_int, c_int]),
    "zn_ports_free": (None, [c_void_p]),
    "zn_ports_matmul": (
        c_int,
        [c_void_p, c_void_p, c_int, c_int, c_int, c_int, c_void_p, c_void_p, c_void_p, c_void_p],
    ),
    "zn_ports_new_axi": (c_void_p, [c_int, c_int, c_void_p]),
    "zn_ports_port_stats": (None, [c_void_p, c_int, POINTER(c_double)]),
    "zn_ports_mode": (None, [c_void_p, c_int]),
    "zn_ports_stats": (None, [c_void_p, POINTER(c_double)]),
    "zn_model_new": (c_void_p, [POINTER(c_int), POINTER(c_float), c_void_p]),
    "zn_model_free": (None, [c_void_p]),
    "zn_model_set_linear": (
        None,
        [
            c_void_p,
            c_int,
            c_int,
            c_int,
            c_int,
            c_int,
            c_int,
            c_void_p,
            c_void_p,
            c_void_p,
            c_void_p,
            c_void_p,
        ],
    ),
    "zn_model_set_norm": (None, [c_void_p, c_int, c_int, c_void_p]),
    "zn_model_set_layer": (None, [c_void_p, c_int, c_void_p, c_void_p, c_int, c_void_p, c_void_p]),
    "zn_model_stages": (None, [c_void_p, POINTER(c_double)]),
    "zn_model_set_embed": (None, [c_void_p, c_void_p, c_int, ctypes.c_long]),
    "zn_embed_row": (None, [c_void_p, c_int, ctypes.c_long, c_int, c_int, c_void_p]),
    "zn_decode_token": (c_int, [c_void_p, c_int, c_int, c_int, c_void_p]),
    "zn_decode": (c_int, [c_void_p, c_void_p, c_int, c_int, c_void_p]),
    "zn_rms_norm": (None, [c_void_p, c_void_p, c_int, c_float, c_float, c_void_p, c_void_p]),
    "zn_quantize_row": (None, [c_void_p, c_int, c_void_p, POINTER(c_float)]),
    "zn_pairwise_sum": (c_float, [c_void_p, ctypes.c_long]),
}


@lru_cache(maxsize=1)
def library() -> ctypes.CDLL:
    """The compiled library (built at first use), its entry points typed."""
    lib = ctypes.CDLL(str(ensure_library()))
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def ptr(a: np.ndarray | None) -> int | None:
    """The address of a C-contiguous array's data (None for NULL)."""
    if a is None:
        return None
    if not a.flags.c_contiguous:
        raise ValueError("native calls need C-contiguous arrays")
    return a.ctypes.data
