#!/usr/bin/python3
"""Opens every group of every run of a mechlens archive with xarray, the way
a researcher would (one line, no code of ours), and checks what xarray shows
against what h5py reads (schemas/results.md §4.3, netCDF-4 dimensions):

* every group opens, with the h5netcdf engine and with netCDF4-python;
* each dataset is a variable (or coordinate) with the dims of its `dims`
  attribute, the same values, and every dim is named (no phony dims);
* a dim whose HDF5 scale holds values (a coordinate) is an xarray coordinate
  with those values; a dimension-only scale is a dim without coordinate
  values, of the scale's length;
* every analysis group has the coordinate `input` = the run's input ids, in
  order (inputs/input), whether or not its plugin uses the dim;
* `to_dataframe()` works on every variable, indexed by its dims.

Generic: it walks whatever groups the archive holds, so a new plugin's groups
are checked as soon as a recipe runs it: every run group, every analysis
group, `inputs/`, and (unless --all) the first SAMPLE groups below each of
those (sub-groups repeat one layout per input or crop, and xarray takes ~0.1 s
per group). Exits 1 on the first mismatch with a message naming the group and
dataset; prints a JSON summary otherwise.

Usage: check_xarray_groups.py [--all] ARCHIVE [ENGINE...]   (default: h5netcdf netcdf4)
"""
import json
import sys

import h5py
import numpy as np
import xarray as xr

DIMENSION_ONLY = b"This is a netCDF dimension but not a netCDF variable."
DATAFRAME_LIMIT = 2_000_000  # elements; bigger variables skip the to_dataframe check
SAMPLE = 3  # groups checked below each run child / analysis group, unless --all


class Mismatch(Exception):
    pass


def check(condition, where, message):
    if not condition:
        raise Mismatch(f"{where}: {message}")


def strings(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def is_dimension_only(ds):
    return h5py.h5ds.is_scale(ds.id) and DIMENSION_ONLY in ds.attrs.get("NAME", b"")


def h5_values(ds):
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.array(ds.asstr()[()], dtype=object)
    return ds[()]


def same_values(expected, actual):
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return False
    if expected.dtype == object or actual.dtype == object or expected.dtype.kind in "US":
        return strings(expected) == strings(actual)
    if expected.dtype.kind == "f":
        return np.array_equal(expected, actual, equal_nan=True)
    return np.array_equal(expected, actual)


def groups_of(group):
    """`group` and every group below it."""
    yield group
    for child in group.values():
        if isinstance(child, h5py.Group):
            yield from groups_of(child)


def check_group(path, h5group, engine, input_ids, is_analysis):
    where = f"{h5group.name} ({engine})"
    try:
        ds = xr.open_dataset(path, engine=engine, group=h5group.name)
    except Exception as error:  # what the user would see
        raise Mismatch(f"{where}: xarray cannot open it: {type(error).__name__}: {error}")
    with ds:
        datasets = {k: v for k, v in h5group.items() if isinstance(v, h5py.Dataset)}
        variables = {k for k, v in datasets.items() if not is_dimension_only(v)}
        shown = set(ds.variables)
        check(shown == variables, where, f"xarray shows {sorted(shown)}, h5py has {sorted(variables)}")
        for name in sorted(variables):
            h5ds = datasets[name]
            dims = tuple(strings(h5ds.attrs["dims"])) if "dims" in h5ds.attrs else ()
            var = ds[name]
            check(var.dims == dims, f"{where} {name}", f"dims {var.dims}, h5py's `dims` attribute says {dims}")
            check(same_values(h5_values(h5ds), var.values), f"{where} {name}", "values differ from h5py's")
            for axis, dim in enumerate(dims):
                scale = datasets.get(dim)
                check(scale is not None, f"{where} {name}", f"dim '{dim}' has no scale in this group")
                check(ds.sizes[dim] == h5ds.shape[axis], f"{where} {name}", f"dim '{dim}' length")
                if is_dimension_only(scale):
                    check(dim not in ds.coords, f"{where} {name}", f"dim '{dim}' should have no coordinate")
                else:
                    check(dim in ds.coords, f"{where} {name}", f"dim '{dim}' is not a coordinate")
                    check(same_values(h5_values(scale), ds.coords[dim].values), f"{where} {name}",
                          f"coordinate '{dim}' values differ from h5py's")
            if var.ndim > 0 and 0 < var.size <= DATAFRAME_LIMIT:
                frame = var.to_dataframe()
                check(list(frame.index.names) == list(dims), f"{where} {name}",
                      f"to_dataframe index {list(frame.index.names)}")
                check(len(frame) == var.size, f"{where} {name}", "to_dataframe rows")
        if is_analysis:
            check("input" in ds.coords, where, "no `input` coordinate")
            check(strings(ds.coords["input"].values) == input_ids, where,
                  f"`input` is {strings(ds.coords['input'].values)}, the run's inputs are {input_ids}")
        return len(variables)


def main(path, engines, every):
    summary = {"groups": 0, "analysis_groups": [], "variables": 0, "engines": engines, "skipped_groups": 0}
    with h5py.File(path, "r") as f:
        for run_name in sorted(f["runs"]):
            run = f["runs"][run_name]
            input_ids = strings(run["inputs/input"][()]) if "inputs/input" in run else []
            analyses = {g.name for g in run["analyses"].values()} if "analyses" in run else set()
            below = {}  # area (run child or analysis group) -> groups checked below it
            for group in groups_of(run):
                is_analysis = group.name in analyses
                parts = group.name.split("/")  # ['', 'runs', run, child, name, ...]
                area = "/".join(parts[:5] if len(parts) > 4 and parts[3] == "analyses" else parts[:4])
                if group.name != area:
                    below[area] = below.get(area, 0) + 1
                    if not every and below[area] > SAMPLE:
                        summary["skipped_groups"] += 1
                        continue
                if is_analysis:
                    summary["analysis_groups"].append(group.name)
                for engine in engines:
                    summary["variables"] += check_group(path, group, engine, input_ids, is_analysis)
                summary["groups"] += 1
    print(json.dumps(summary))


if __name__ == "__main__":
    args = sys.argv[1:]
    every = "--all" in args
    args = [a for a in args if a != "--all"]
    if not args:
        sys.exit(__doc__)
    try:
        main(args[0], args[1:] or ["h5netcdf", "netcdf4"], every)
    except Mismatch as error:
        print(f"check_xarray_groups: {args[0]}: {error}", file=sys.stderr)
        sys.exit(1)
