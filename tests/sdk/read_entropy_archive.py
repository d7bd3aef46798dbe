"""Reads what the scaffold's example plugin (attention entropy) wrote, with
h5py alone, and prints it as JSON for tests/sdk: dims, attached coordinates,
values, the finding and the units marked done."""
import json
import math
import sys

import h5py


def no_nan(v):
    """JSON has no NaN: not-computed values come out as null."""
    if isinstance(v, list):
        return [no_nan(x) for x in v]
    return None if isinstance(v, float) and math.isnan(v) else v


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


archive, analysis = sys.argv[1], sys.argv[2]
with h5py.File(archive, "r") as f:
    run = f["runs"][sorted(f["runs"].keys())[-1]]
    group = run["analyses"][analysis]
    out = {"run_status": text(run.attrs["status"]),
           "findings": [text(x) for x in group.attrs.get("findings", [])],
           "units_done": sorted(text(x) for x in group["_units_done"][()]) if "_units_done" in group else [],
           "input_tokens": [int(n) for n in run["inputs/n_tokens"][()]] if "inputs/n_tokens" in run else [],
           "datasets": {}}
    for name, ds in group.items():
        if not isinstance(ds, h5py.Dataset) or name.startswith("_"):
            continue
        values = ds.asstr()[()].tolist() if ds.dtype.kind == "O" else ds[()].tolist()
        out["datasets"][name] = {
            "dims": [text(d) for d in ds.attrs["dims"]],
            "shape": list(ds.shape),
            # the coordinate (dimension scale) attached to each axis, if any
            "coords": [ds.dims[i][0].name.split("/")[-1] if len(ds.dims[i]) else None for i in range(ds.ndim)],
            "values": no_nan(values),
        }
    print(json.dumps(out, allow_nan=False))
