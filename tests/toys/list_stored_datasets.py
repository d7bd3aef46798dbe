#!/usr/bin/python3
"""Lists, per plugin, the datasets its analyses stored in the last run of a
mechlens archive, read with h5py alone, as JSON {"plugin": ["path", ...]}.

Paths are relative to the analysis group, with the parts that vary between
runs written as placeholders, so that they can be looked up in
tests/VALUE_CHECKS.md:
  a group named after an input id (activation_cache's per-input groups,
  grids/<input id>/ of logit_lens and atman; image-folder ids nest one level
  deeper)                                          -> <input>
  crop_0, crop_1, ...                              -> crop_<n>
  a number between dots in a hook name (blocks.3.attn.hook_pattern,
  vision.layers.0.hook_resid_post)                 -> <n>
Left out: what the host or the store writes in every analysis group (the
`input` coordinate, `_units_done`) and netCDF dimension-only scales (never
written, no values).

usage: list_stored_datasets.py ARCHIVE
"""
import json
import re
import sys

import h5py


def placeholder(component, input_ids):
    if component in input_ids:
        return "<input>"
    if re.fullmatch(r"crop_\d+", component):
        return "crop_<n>"
    return re.sub(r"(?<=\.)\d+(?=\.)", "<n>", component)


def datasets(group, prefix, input_ids, out):
    for name, item in group.items():
        path = f"{prefix}/{name}" if prefix else name
        if isinstance(item, h5py.Group):
            datasets(item, path, input_ids, out)
            continue
        if not prefix and name in ("input", "_units_done"):
            continue
        if name == "_units_done":
            continue
        scale_name = item.attrs.get("NAME", b"")
        if isinstance(scale_name, bytes) and b"not a netCDF variable" in scale_name:
            continue
        # An image-folder id ("shapes/shape_000") spans two components.
        parts = path.split("/")
        normal = []
        i = 0
        while i < len(parts):
            if i + 1 < len(parts) and f"{parts[i]}/{parts[i + 1]}" in input_ids:
                normal.append("<input>")
                i += 2
                continue
            normal.append(placeholder(parts[i], input_ids))
            i += 1
        out.add("/".join(normal))


with h5py.File(sys.argv[1], "r") as f:
    run = f["runs"][sorted(f["runs"].keys())[-1]]
    input_ids = {v.decode() if isinstance(v, bytes) else v for v in run["inputs/input"][()]}
    by_plugin = {}
    for name, group in run["analyses"].items():
        plugin = group.attrs["plugin"]
        plugin = plugin.decode() if isinstance(plugin, bytes) else plugin
        datasets(group, "", input_ids, by_plugin.setdefault(plugin, set()))
    print(json.dumps({plugin: sorted(paths) for plugin, paths in sorted(by_plugin.items())}, indent=1))
