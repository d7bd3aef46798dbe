#!/usr/bin/python3
"""Reads the archive h5py_readback_test.cpp writes, with h5py only (none of
our code), and checks what a user would rely on: run attributes, the `dims`
attribute, dimension labels and scales, values, Unicode strings, compression.
Exits non-zero (AssertionError) on the first mismatch; prints a JSON summary.

Usage: read_archive.py ARCHIVE.h5
"""
import json
import sys

import h5py
import numpy as np


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main(path):
    summary = {}
    with h5py.File(path, "r") as f:
        check(f.attrs["format"] == "mechlens-results", f"format is {f.attrs['format']!r}")
        check(int(f.attrs["format_version"]) == 1, "format_version")
        runs = sorted(f["runs"].keys())
        check(runs == ["run_0001", "run_0002"], f"runs {runs}")
        summary["runs"] = runs

        run = f["runs/run_0001"]
        check(run.attrs["status"] == "complete", "status of run_0001")
        check(run.attrs["started_at"].endswith("Z") and "T" in run.attrs["started_at"], "started_at")
        check(run.attrs["recipe"] == "[model]\nadapter = \"bert\"  # ünïcode ✓\n", "recipe text")
        check(run.attrs["threads"] == 2 and run.attrs["threads"].dtype == np.int64, "int64 attribute")
        check(run.attrs["seconds"] == 1.25 and run.attrs["seconds"].dtype == np.float64, "double attribute")
        check(list(run.attrs["layers"]) == [0, 2] and run.attrs["layers"].dtype == np.int64, "int64 vector")
        check(list(run.attrs["weights"]) == [0.5, -1.5], "double vector")
        check(list(run.attrs["overrides"]) == ["a=1", "b=ü"], "string vector")
        check(isinstance(run.attrs["no_tags"], np.ndarray) and run.attrs["no_tags"].shape == (0,), "empty array")
        check(f["runs/run_0002"].attrs["status"] == "complete", "status of run_0002")

        a = run["analyses/sensitivity_matrix"]
        s = a["sensitivity"]
        check(s.dtype == np.float32 and s.shape == (2, 3, 4), f"sensitivity {s.dtype} {s.shape}")
        check(list(s.attrs["dims"]) == ["input", "layer", "head"], f"dims {list(s.attrs['dims'])}")
        check([d.label for d in s.dims] == ["input", "layer", "head"], "dimension labels")
        i, l, h = np.meshgrid(np.arange(2), np.arange(3), np.arange(4), indexing="ij")
        check(np.array_equal(s[()], (i * 100 + l * 10 + h).astype(np.float32)), "sensitivity values")
        # Dimension scales: the coordinate where one was written, else a
        # dimension-only scale (netCDF-4: a dimension without values).
        check(len(s.dims[0]) == 1 and s.dims[0][0].name.endswith("/input"), "scale 'input'")
        check(b"not a netCDF variable" in s.dims[0][0].attrs["NAME"], "'input' is a dimension without values")
        check(len(s.dims[1]) == 1 and s.dims[1][0].name.endswith("/layer"), "scale 'layer'")
        check(np.array_equal(s.dims[1][0][()], [0, 1, 2]), "layer coordinate values")
        check(np.array_equal(s.dims[2][0][()], [0, 1, 2, 3]), "head coordinate values")
        check(h5py.h5ds.is_scale(a["layer"].id), "layer is a dimension scale")

        tokens = a["tokens"]
        check(h5py.check_string_dtype(tokens.dtype).encoding == "utf-8", "tokens are UTF-8 strings")
        check(h5py.check_string_dtype(tokens.dtype).length is None, "tokens are variable-length")
        values = list(tokens.asstr()[()])
        check(values == ["héllo", "世界", "🙂", "", "Ġthe"], f"tokens {values}")
        check(list(tokens.attrs["dims"]) == ["pos"], "tokens dims")
        check(list(a["_units_done"].asstr()[()]) == ["input_0", "input_1"], "units done")

        total = a["total"]
        check(total.shape == () and total[()] == 0.75 and total.attrs["dims"].shape == (0,), "scalar dataset")

        big = a["big"]
        check(big.compression == "gzip" and big.chunks is not None, f"big: {big.compression} {big.chunks}")
        expected = (np.arange(600 * 1000, dtype=np.float64) % 997).reshape(600, 1000)
        check(np.array_equal(big[()], expected), "big values")

        ids = run["inputs/by_id/input_0/ids"]
        check(ids.dtype == np.int64 and list(ids[()]) == [101, 7592, 102], "ids")
        modality = run["inputs/by_id/input_0/modality"]
        check(modality.dtype == np.uint8 and list(modality[()]) == [2, 0, 2], "modality")
        summary["datasets"] = sorted(a.keys())
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
