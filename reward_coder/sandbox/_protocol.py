"""Frames exchanged between the parent and a sandboxed worker over two pipes.

A frame is `<u32 header length><u32 payload length>`, a JSON header (ASCII) and a payload of raw
array bytes. Arrays are described in the header as `[dtype, shape]` pairs, laid out back to back in
the payload. Nothing is ever pickled in either direction: a frame from the worker is untrusted data
(the candidate could have written it), so the reader checks every length against a cap before it
allocates anything, accepts only plain numeric dtypes, and lets `json` parse the header.

Stdlib and numpy only: this file is imported by the worker inside the sandbox as well.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

import numpy as np

PREFIX = struct.Struct("<II")
MAX_HEADER_BYTES = 1 << 20
"""JSON headers hold names and small numbers; a megabyte is far beyond any honest header."""

ALLOWED_DTYPES = frozenset(
    np.dtype(t).str
    for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64,
        np.float16, np.float32, np.float64,
    )
)
"""Dtypes a frame may carry: numbers and booleans. No objects, strings, structured or complex data."""


class ProtocolError(Exception):
    """A frame broke the rules (too large, malformed, unknown dtype), or the pipe closed mid-frame."""


class FrameTimeout(Exception):
    """No complete frame arrived before the deadline."""


def encode(header: dict[str, Any], arrays: list[np.ndarray] = ()) -> bytes:  # type: ignore[assignment]
    """One frame: the header plus `arrays` (each sent C-contiguous, described under 'arrays')."""
    specs = []
    blobs = []
    for array in arrays:
        array = array if array.flags.c_contiguous else np.ascontiguousarray(array)  # keeps 0-d arrays 0-d
        specs.append([array.dtype.str, list(array.shape)])
        blobs.append(array.tobytes())
    if specs:
        header = {**header, "arrays": specs}
    head = json.dumps(header, separators=(",", ":")).encode("ascii")
    payload = b"".join(blobs)
    return PREFIX.pack(len(head), len(payload)) + head + payload


def encode_raw(head: bytes, payload: bytes) -> bytes:
    """A frame from an already-encoded header (the fast path re-uses the bytes of a cached header)."""
    return PREFIX.pack(len(head), len(payload)) + head + payload


_DTYPES = {name: np.dtype(name) for name in ALLOWED_DTYPES}


def array_specs(header: dict[str, Any], payload_len: int, max_elements: int) -> list[tuple[np.dtype, tuple[int, ...], int]]:
    """Validate the 'arrays' entry of a header: (dtype, shape, offset) per array; raises ProtocolError."""
    specs = header.get("arrays", [])
    if type(specs) is not list or len(specs) > 4096:
        raise ProtocolError("bad array list")
    out = []
    offset = 0
    for spec in specs:
        if type(spec) is not list or len(spec) != 2:
            raise ProtocolError("bad array description")
        dtype_str, shape = spec
        dtype = _DTYPES.get(dtype_str) if type(dtype_str) is str else None
        if dtype is None:
            raise ProtocolError(f"dtype {str(dtype_str)[:40]!r} is not allowed")
        if type(shape) is not list or len(shape) > 8:
            raise ProtocolError("bad array shape")
        count = 1
        for dim in shape:
            if type(dim) is not int or not 0 <= dim <= max_elements:
                raise ProtocolError("bad array shape")
            count *= dim
        if count > max_elements:
            raise ProtocolError("array too large")
        out.append((dtype, tuple(shape), offset, count))
        offset += count * dtype.itemsize
    if offset != payload_len:
        raise ProtocolError("payload length does not match the arrays")
    return out


def decode_arrays(header: dict[str, Any], payload: bytes | bytearray, max_elements: int) -> list[np.ndarray]:
    """The arrays of a frame as numpy arrays viewing `payload` (writable iff payload is a bytearray)."""
    return [
        np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape)
        for dtype, shape, offset, count in array_specs(header, len(payload), max_elements)
    ]


def write_all(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write all of `data` to `fd`, waiting at most until `deadline` (time.monotonic) when given.

    With a deadline the fd must be non-blocking; a worker that stops reading then cannot wedge the
    parent on a full pipe.
    """
    view = memoryview(data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FrameTimeout("write timed out")
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                select.select([], [fd], [], remaining)
                continue
        else:
            written = os.write(fd, view)
        view = view[written:]


class FrameReader:
    """Reads frames from a pipe, with a deadline per frame and caps on what it will accept.

    With `spin_s` (parent side, non-blocking fd) it busy-polls that long before sleeping in select:
    on a multi-core machine, waking a sleeping process costs tens of microseconds, more than a
    typical reward call, so a short spin saves most of the round trip.
    """

    def __init__(self, fd: int, max_payload: int, max_header: int = MAX_HEADER_BYTES, spin_s: float = 0.0) -> None:
        self.fd = fd
        self.max_payload = max_payload
        self.max_header = max_header
        self.spin_s = spin_s
        self._buffer = bytearray()

    def _fill(self, want: int, deadline: float | None) -> None:
        spin = self.spin_s
        while len(self._buffer) < want:
            chunk = None
            if spin and deadline is not None:
                stop = time.perf_counter() + spin
                spin = 0.0  # once per frame
                while chunk is None and time.perf_counter() < stop:
                    try:
                        chunk = os.read(self.fd, max(want - len(self._buffer), 65536))
                    except BlockingIOError:
                        pass
            if chunk is None:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise FrameTimeout("no answer in time")
                    wait = None if remaining == float("inf") else remaining
                    ready, _, _ = select.select([self.fd], [], [], wait)
                    if not ready:
                        raise FrameTimeout("no answer in time")
                try:
                    chunk = os.read(self.fd, max(want - len(self._buffer), 65536))
                except BlockingIOError:
                    continue
            if not chunk:
                raise EOFError("pipe closed")
            self._buffer += chunk

    def read_raw(self, deadline: float | None = None) -> tuple[bytes, bytearray]:
        """The next frame's header bytes (not yet parsed) and payload."""
        self._fill(PREFIX.size, deadline)
        head_len, payload_len = PREFIX.unpack_from(self._buffer)
        if head_len > self.max_header:
            raise ProtocolError(f"header of {head_len} bytes exceeds the cap of {self.max_header}")
        if payload_len > self.max_payload:
            raise ProtocolError(f"payload of {payload_len} bytes exceeds the cap of {self.max_payload}")
        total = PREFIX.size + head_len + payload_len
        self._fill(total, deadline)
        head = bytes(self._buffer[PREFIX.size : PREFIX.size + head_len])
        payload = self._buffer[PREFIX.size + head_len : total]
        del self._buffer[:total]
        return head, payload

    def read(self, deadline: float | None = None) -> tuple[dict[str, Any], bytearray]:
        """The next frame's header and payload. Raises FrameTimeout, EOFError or ProtocolError."""
        head, payload = self.read_raw(deadline)
        return parse_header(head), payload


def parse_header(head: bytes) -> dict[str, Any]:
    try:
        header = json.loads(head.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ProtocolError(f"malformed header: {type(err).__name__}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    return header
