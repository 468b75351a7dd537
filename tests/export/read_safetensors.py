#!/usr/bin/python3
"""Independent safetensors reader for the tests (json + numpy only, Debian's python3-numpy).

usage: read_safetensors.py FILE
Checks the published layout (8-byte little-endian header length, JSON header, data start
aligned to 8, offsets covering the data buffer without holes or overlaps) and prints JSON:
{"metadata": {...}, "header_len": N, "keys": [header keys in file order],
 "tensors": {name: {"dtype", "shape", "offsets", "sum", "values": [first 4 and last],
                     "sha256": of the little-endian bytes}}}
Exits 1 with a message on stderr if the file breaks the format.
"""
import hashlib
import json
import struct
import sys

import numpy as np

DTYPES = {"BOOL": "?", "U8": "u1", "I8": "i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
          "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8"}


def fail(msg):
    print("read_safetensors.py: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: read_safetensors.py FILE")
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        fail("header length %d past the end" % n)
    if (8 + n) % 8 != 0:
        fail("data start %d not aligned to 8" % (8 + n))
    text = raw[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        fail("header does not start with '{'")
    pairs = json.loads(text, object_pairs_hook=lambda kv: kv)  # keep file order and duplicates
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        fail("duplicate keys")
    header = dict(pairs)
    data = raw[8 + n:]
    meta = dict(header.pop("__metadata__", []))
    out = {"metadata": meta, "header_len": n, "keys": keys, "tensors": {}}
    spans = []
    for name, info in header.items():
        info = dict(info)
        dt = np.dtype(DTYPES[info["dtype"]])
        b, e = info["data_offsets"]
        shape = [int(d) for d in info["shape"]]
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * dt.itemsize:
            fail("%s: span %d != %d" % (name, e - b, count * dt.itemsize))
        spans.append((b, e, name))
        arr = np.frombuffer(data[b:e], dtype=dt).reshape(shape)
        flat = arr.reshape(-1)
        values = [float(v) for v in flat[:4]] + ([float(flat[-1])] if flat.size else [])
        out["tensors"][name] = {
            "dtype": info["dtype"], "shape": shape, "offsets": [b, e],
            "sum": float(flat.astype(np.float64).sum()) if flat.size else 0.0,
            "values": values,
            "sha256": hashlib.sha256(flat.astype(dt.newbyteorder("<")).tobytes()).hexdigest(),
        }
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            fail("%s: begins at %d, expected %d (hole or overlap)" % (name, b, pos))
        pos = e
    if pos != len(data):
        fail("data buffer has %d unindexed bytes" % (len(data) - pos))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
