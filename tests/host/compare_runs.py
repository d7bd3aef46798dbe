"""Compares run_0001 of two mechlens archives dataset by dataset with h5py
alone: every dataset must exist in both with the same shape, dtype and
bit-identical values; attributes too, except those that record when or how
long (times, resumed_at, command_line). Prints one line per difference and
exits 1 if there is any; prints the number of datasets compared otherwise.
usage: compare_runs.py REFERENCE.h5 OTHER.h5"""
import sys

import h5py
import numpy as np

SKIP_ATTRS = {"started_at", "finished_at", "resumed_at", "seconds", "command_line", "DIMENSION_LIST",
              "REFERENCE_LIST", "CLASS", "NAME"}


def timing(name):
    return name in SKIP_ATTRS or name.startswith("time.")


def collect(f):
    out = {}

    def visit(name, obj):
        out[name] = obj

    f["runs/run_0001"].visititems(visit)
    return out


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return a.tobytes() == b.tobytes()
    return bool(np.all(a == b))


problems = []
with h5py.File(sys.argv[1], "r") as ref, h5py.File(sys.argv[2], "r") as other:
    a, b = collect(ref), collect(other)
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            problems.append(f"{name}: only in {'the reference' if name in a else 'the other'}")
            continue
        x, y = a[name], b[name]
        if isinstance(x, h5py.Dataset) != isinstance(y, h5py.Dataset):
            problems.append(f"{name}: a dataset in one, a group in the other")
            continue
        if isinstance(x, h5py.Dataset) and not same_value(x[()], y[()]):
            problems.append(f"{name}: values differ")
        for key in sorted(set(x.attrs) | set(y.attrs)):
            if timing(key):
                continue
            if key not in x.attrs or key not in y.attrs:
                problems.append(f"{name}@{key}: only in one")
            elif not same_value(x.attrs[key], y.attrs[key]):
                problems.append(f"{name}@{key}: differs")
    datasets = sum(isinstance(o, h5py.Dataset) for o in a.values())
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"{datasets} datasets identical")
