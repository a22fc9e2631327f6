"""Plain data: what crosses from the code under test to the judge.

`to_plain` turns whatever a student's function returned into nested dicts of strings, numbers and
NumPy arrays; `encode` / `decode` move that through JSON (arrays as `.npy` bytes, never pickles).
`decode` treats its input as hostile: it validates every node and caps sizes, so a submission can
only ever send *values*, never code or objects with behaviour of their own.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

Plain = dict[str, Any]

MAX_ITEMS = 10_000
MAX_STR = 500
MAX_DEPTH = 8
MAX_ARRAY_BYTES = 16 * 2**20

_NUMERIC_KINDS = "biufc"


def _tensor_type():
    try:  # torch is optional for the NumPy-only lessons
        import torch
    except ImportError:  # pragma: no cover - torch ships with the course
        return None
    return torch.Tensor


def to_plain(value: Any, depth: int = 0) -> Plain:
    """Describe `value` as plain data: its kind, dtype, shape and numbers."""
    tensor_type = _tensor_type()
    if depth > MAX_DEPTH:
        return {"type": "other", "class": "too deeply nested"}
    if value is None:
        return {"type": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"type": "bool", "array": np.asarray(bool(value))}
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        return {"type": "generic", "array": np.array(value.item(), dtype=value.dtype)}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"type": type(value).__name__ if type(value) in (int, float) else "float",
                "array": np.asarray(float(value) if isinstance(value, float) else int(value))}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC_KINDS:
            return {"type": "other", "class": f"ndarray of dtype {value.dtype}"}
        return {"type": "ndarray", "array": np.array(value, copy=True).view(np.ndarray)}
    if tensor_type is not None and isinstance(value, tensor_type):
        t = value.detach().cpu()
        if t.dtype in (_half_types()):
            t = t.double()
        arr = t.resolve_conj().resolve_neg().numpy().copy()
        return {"type": "tensor", "array": arr, "dtype": str(t.dtype).removeprefix("torch."),
                "device": t.device.type, "requires_grad": bool(value.requires_grad)}
    if isinstance(value, str):
        return {"type": "str", "value": value[:MAX_STR]}
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {"type": "dict", "items": {str(k)[:MAX_STR]: to_plain(v, depth + 1) for k, v in items}}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__ if type(value) in (list, tuple) else "list",
                "items": [to_plain(v, depth + 1) for v in list(value)[:MAX_ITEMS]]}
    return {"type": "other", "class": type(value).__name__[:MAX_STR]}


def _half_types():
    import torch

    return (torch.bfloat16, torch.float16)


# ---------------------------------------------------------------- JSON transport

def _array_to_json(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, np.array(a, order="C", copy=True), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _json_default(node: Any) -> Any:
    if isinstance(node, np.ndarray):
        return {"__npy__": _array_to_json(node)}
    raise TypeError(f"not plain data: {type(node).__name__}")


def encode(node: Any) -> str:
    """Serialise plain data (nested dicts/lists of str, numbers, bools, None, arrays) to JSON."""
    return json.dumps(node, default=_json_default, allow_nan=True)


class PlainDataError(ValueError):
    """The data sent by the code under test is not well-formed plain data."""


def _decode_node(node: Any, depth: int) -> Any:
    if depth > 2 * MAX_DEPTH + 8:
        raise PlainDataError("nested too deeply")
    if node is None or isinstance(node, (bool, int, float)):
        return node
    if isinstance(node, str):
        return node[: 4 * MAX_STR]
    if isinstance(node, list):
        if len(node) > MAX_ITEMS + 10:
            raise PlainDataError("too many items")
        return [_decode_node(v, depth + 1) for v in node]
    if isinstance(node, dict):
        if set(node) == {"__npy__"}:
            raw = base64.b64decode(node["__npy__"], validate=True)
            if len(raw) > MAX_ARRAY_BYTES:
                raise PlainDataError("array too large")
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
            if type(arr) is not np.ndarray or arr.dtype.kind not in _NUMERIC_KINDS:
                raise PlainDataError("not a numeric array")
            return arr
        if len(node) > MAX_ITEMS + 10:
            raise PlainDataError("too many keys")
        return {str(k): _decode_node(v, depth + 1) for k, v in node.items()}
    raise PlainDataError(f"unexpected JSON node {type(node).__name__}")


def decode(text: str | bytes) -> Any:
    """Parse JSON produced by `encode`, rebuilding arrays; raises PlainDataError on anything else."""
    try:
        return _decode_node(json.loads(text), 0)
    except PlainDataError:
        raise
    except (ValueError, TypeError, RecursionError) as exc:
        raise PlainDataError(f"malformed result data: {exc}") from None
