#!/usr/bin/python3
"""Prints every dataset under one group of an HDF5 archive as JSON, read with
h5py alone: {"relative/path": {"shape": [...], "dims": [...], "values": [...]}},
values flattened in C order (strings decoded), plus the group's attributes
under "@attrs".

usage: dump_group.py ARCHIVE GROUP_PATH
"""
import json
import sys

import h5py
import numpy as np


def plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.reshape(-1)]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    return value


def main():
    archive, path = sys.argv[1:3]
    out = {}
    with h5py.File(archive, "r") as f:
        group = f[path]
        out["@attrs"] = {k: plain(v) for k, v in group.attrs.items()}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                values = obj[()]
                out[name] = {"shape": list(obj.shape),
                             "dims": plain(obj.attrs["dims"]) if "dims" in obj.attrs else [],
                             "values": plain(np.asarray(values))}

        group.visititems(visit)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
