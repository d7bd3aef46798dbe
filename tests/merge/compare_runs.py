#!/usr/bin/python3
"""Compares the last run of two mechlens archives dataset by dataset (provenance/ aside).

usage: compare_runs.py A.h5 B.h5 [--attrs] [--shard-findings=PLUGIN,...]

Every group below the run except provenance/: the same datasets and sub-groups
(the store's resume bookkeeping `_units_done` and its `unit` dimension aside);
each dataset the same dtype, shape, `dims`, dimension labels, attached scales
(netCDF-4 layout), storage (chunks, compression, Fletcher32) and values (NaN
equal to NaN; floats exactly). With --attrs, the attributes of those groups
too, except the per-session ones (times, command line); the `findings` of
the analyses of the plugins named by --shard-findings (whose merge keeps the
findings per shard) only for being there.
Prints every difference; exit status 1 if any.
"""
import sys

import h5py
import numpy as np

SESSION_ATTRS = {"started_at", "finished_at", "seconds", "resumed_at", "command_line"}


def last_run(f):
    names = sorted((n for n in f["runs"] if n.startswith("run_")), key=lambda n: int(n[4:]))
    return f["runs"][names[-1]]


def scale_names(ds):
    out = []
    for dim in ds.dims:
        out.append(sorted(str(s.name).rsplit("/", 1)[-1] for s in dim.values()))
    return out


def values_equal(a, b):
    if a.dtype.kind in "OSU":
        return a.shape == b.shape and all(x == y for x, y in zip(a.ravel(), b.ravel()))
    if a.dtype.kind == "f":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def attr_equal(x, y):
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            return x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
        return x.shape == y.shape and all(a == b for a, b in zip(x.ravel(), y.ravel()))
    if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
        return True
    return x == y


def compare(a, b, path, problems, with_attrs, shard_findings=()):
    if with_attrs:
        for name in sorted(set(a.attrs) | set(b.attrs)):
            if name in SESSION_ATTRS or name.startswith("time."):
                continue
            if name == "findings" and a.attrs.get("plugin") in shard_findings:
                if len(b.attrs.get(name, [])) == 0:  # per shard in B: present, not compared
                    problems.append(f"{path}: no findings")
                continue
            if name not in a.attrs or name not in b.attrs:
                problems.append(f"{path}: attribute {name} only in {'A' if name in a.attrs else 'B'}")
            elif not attr_equal(a.attrs[name], b.attrs[name]):
                problems.append(f"{path}: attribute {name}: {a.attrs[name]!r} != {b.attrs[name]!r}")
    for name in sorted(set(a) | set(b)):
        if name == "_units_done" or (path == "run" and name == "provenance"):
            continue
        if name == "unit" and "_units_done" in (a if name in a else b):
            continue  # the dimension-only scale of the store's resume bookkeeping
        where = f"{path}/{name}"
        if name not in a or name not in b:
            problems.append(f"{where}: only in {'A' if name in a else 'B'}")
            continue
        x, y = a[name], b[name]
        if isinstance(x, h5py.Group) != isinstance(y, h5py.Group):
            problems.append(f"{where}: a group in one, a dataset in the other")
        elif isinstance(x, h5py.Group):
            compare(x, y, where, problems, with_attrs, shard_findings)
        else:
            for what, fx, fy in [
                ("dtype", x.dtype, y.dtype),
                ("shape", x.shape, y.shape),
                ("dims", list(x.attrs.get("dims", [])), list(y.attrs.get("dims", []))),
                ("labels", [d.label for d in x.dims], [d.label for d in y.dims]),
                ("scales", scale_names(x), scale_names(y)),
                ("fletcher32", x.fletcher32, y.fletcher32),
                ("compression", x.compression, y.compression),
                ("chunks", x.chunks, y.chunks),
                ("is_scale", h5py.h5ds.is_scale(x.id), h5py.h5ds.is_scale(y.id)),
            ]:
                if fx != fy:
                    problems.append(f"{where}: {what} {fx} != {fy}")
            if x.shape == y.shape and x.dtype == y.dtype and not values_equal(x[()], y[()]):
                diff = ""
                if x.dtype.kind == "f":
                    d = np.nanmax(np.abs(np.asarray(x[()], float) - np.asarray(y[()], float))) if x.size else 0
                    diff = f" (max |difference| {d})"
                problems.append(f"{where}: values differ{diff}")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    with_attrs = "--attrs" in sys.argv
    shard_findings = ()
    for a in sys.argv[1:]:
        if a.startswith("--shard-findings="):
            shard_findings = tuple(a.split("=", 1)[1].split(","))
    with h5py.File(args[0], "r") as fa, h5py.File(args[1], "r") as fb:
        problems = []
        compare(last_run(fa), last_run(fb), "run", problems, with_attrs, shard_findings)
    for p in problems:
        print(p)
    print(f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
