"""The wire format between the grader and its sandbox: plain JSON, arrays as bytes.

Both sides use it: the grader (``course.grading.wire``) encodes the cases it
sends and strictly decodes what comes back; the sandbox's runner (which
loads this file by path, as ``wire``) decodes the cases and encodes the
student's return values. Arrays travel as dtype, shape and base64 bytes;
nothing is ever pickled, and :func:`decode` with ``strict=True`` accepts
only plain real-number arrays of sane size. Standard library only at import;
NumPy is imported when an array is met.
"""

from __future__ import annotations

import base64
import sys

MAX_ELEMENTS = 2_000_000  # per returned value; an answer is a loss or a gradient
_DTYPE_KINDS = "biuf"


def encode(value):
    """Plain JSON for numbers, strings, None, tuples, lists, dicts and NumPy arrays."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[str(k), encode(v)] for k, v in value.items()]}
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):
        return {"__scalar__": _array_fields(np.asarray(value))}
    if np is not None and isinstance(value, np.ndarray):
        return {"__array__": _array_fields(value)}
    raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")


def _array_fields(array):
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def decode(data, strict: bool = False):
    """Inverse of :func:`encode`. ``strict`` (the grader reading a sandbox) checks every field."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, strict) for v in data]
    if isinstance(data, dict) and len(data) == 1:
        (key, inner), = data.items()
        if key == "__tuple__" and isinstance(inner, list):
            return tuple(decode(v, strict) for v in inner)
        if key == "__dict__" and isinstance(inner, list):
            return {str(k): decode(v, strict) for k, v in inner}
        if key in ("__array__", "__scalar__"):
            array = _array(inner, strict)
            return array[()] if key == "__scalar__" else array
    raise ValueError("malformed value")


def _array(fields, strict: bool):
    import numpy as np

    if not (isinstance(fields, list) and len(fields) == 3):
        raise ValueError("malformed array")
    dtype_text, shape, payload = fields
    if not isinstance(dtype_text, str) or len(dtype_text) > 8:
        raise ValueError("malformed dtype")
    dtype = np.dtype(dtype_text)
    if dtype.kind not in _DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {dtype} is not a number type")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)):
        raise ValueError("malformed shape")
    size = 1
    for n in shape:
        size *= n
    if strict and size > MAX_ELEMENTS:
        raise ValueError("array too large")
    if not isinstance(payload, str):
        raise ValueError("malformed payload")
    raw = base64.b64decode(payload.encode("ascii"), validate=True)
    if len(raw) != size * dtype.itemsize:
        raise ValueError("payload does not match shape and dtype")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def to_plain(value, _depth: int = 0):
    """What the worker sends back for a returned value (mirrors ``judge.to_data``).

    Raises TypeError with a sentence for the student when the value is not numbers.
    """
    import numpy as np

    if isinstance(value, (tuple, list)) and _depth == 0:
        return tuple(to_plain(v, 1) for v in value)
    if value is None:
        raise TypeError("returned None (is a `return` statement missing?)")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        value = value.view(np.ndarray)  # subclasses could override comparisons
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        if isinstance(value, np.ndarray) and value.size > MAX_ELEMENTS:
            raise TypeError(f"returned an array of {value.size} elements, far too large")
        array = np.array(value, copy=True)
        if array.dtype.kind not in _DTYPE_KINDS:
            raise TypeError(f"returned an array of dtype {array.dtype}, expected real numbers")
        return array
    raise TypeError(f"returned a {type(value).__name__}, expected a NumPy array or a number")
