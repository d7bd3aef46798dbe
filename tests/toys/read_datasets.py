#!/usr/bin/python3
"""Prints datasets and attributes of the last run of a mechlens archive as
JSON, read with h5py alone: {"PATH": value, "PATH@ATTR": value, ...}, PATH
relative to the run group (e.g. analyses/lens/target_rank).

usage: read_datasets.py ARCHIVE PATH[@ATTR]...
"""
import json
import sys

import h5py
import numpy as np


def plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()] if value.dtype == object else value.tolist()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


with h5py.File(sys.argv[1], "r") as f:
    run = f["runs"][sorted(f["runs"].keys())[-1]]
    out = {}
    for path in sys.argv[2:]:
        name, _, attr = path.partition("@")
        out[path] = plain(run[name].attrs[attr]) if attr else plain(run[name][()])
    print(json.dumps(out))
