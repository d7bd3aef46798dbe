"""Dumps a mechlens archive as JSON with h5py alone (no mechlens code), so the
host tests check the file as a user's Python would read it:
{"<path>": {"attrs": {...}, "shape": [...], "dims": [...], "values": [...]}, ...}
for every group and dataset."""
import json
import sys

import h5py
import numpy as np


def plain(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()]
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


out = {}


def visit(name, obj):
    entry = {"attrs": {k: plain(v) for k, v in obj.attrs.items() if k not in ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME")}}
    if isinstance(obj, h5py.Dataset):
        entry["shape"] = list(obj.shape)
        entry["values"] = plain(obj[()])
        if "dims" in obj.attrs:
            entry["dims"] = plain(obj.attrs["dims"])
    out["/" + name] = entry


with h5py.File(sys.argv[1], "r") as f:
    out["/"] = {"attrs": {k: plain(v) for k, v in f.attrs.items()}}
    f.visititems(visit)
print(json.dumps(out))
