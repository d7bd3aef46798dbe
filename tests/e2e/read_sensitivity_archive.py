"""Reads a mechlens archive with h5py alone (no mechlens code) and prints what
the end-to-end test checks, as JSON."""
import json
import sys

import h5py

with h5py.File(sys.argv[1], "r") as f:
    runs = sorted(f["runs"].keys())
    out = {"runs": runs}
    for name in runs:
        run = f["runs"][name]
        info = {"attrs": {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in run.attrs.items()}}
        sens = run["analyses/sensitivity_matrix"]
        for metric in ("top1_prob_change", "kl", "logit_diff"):
            ds = sens[metric]
            info[metric] = {
                "shape": list(ds.shape),
                "dims": [d.decode() if isinstance(d, bytes) else str(d) for d in ds.attrs["dims"]],
                "values": ds[()].tolist(),
            }
        info["baseline_token"] = sens["baseline_token"][()].tolist()
        info["baseline_prob"] = sens["baseline_prob"][()].tolist()
        info["groups"] = sorted(run.keys())
        out[name] = info
    print(json.dumps(out))
