#pragma once
// Named dimensions: the `dims` attribute, HDF5 dimension labels, and
// dimension scales linked by name within one group (see hdf5_datasets.hpp),
// laid out as netCDF-4 does, so that xarray (h5netcdf, netCDF4) opens any
// group of an archive with named dims (schemas/results.md §4.3):
// every axis of every dataset has a scale of its name in the dataset's own
// group: the dimension's coordinate if one was written, else a
// "dimension-only" scale (netCDF's dimension without a variable: no values,
// no storage); and a dimension name has one length per group.
#include <cstdint>
#include <string>
#include <vector>

#include "store/hdf5_handles.hpp"

namespace mechlens::store::h5 {

// The scale name (HDF5 `NAME` attribute) netCDF-4 gives a dimension that has
// no coordinate variable; readers recognise the prefix. The length follows, as %10d.
inline constexpr const char* kDimensionOnlyScale = "This is a netCDF dimension but not a netCDF variable.";

// Writes the `dims` attribute and one HDF5 dimension label per axis.
void name_axes(hid_t dataset, const std::vector<std::string>& dims, const Where& where);
// Axis names of a dataset: `dims`, else dimension labels, else empty.
std::vector<std::string> axis_names(hid_t dataset, const Where& where);
// True for a dimension-only scale (netCDF's "dimension but not a variable").
bool is_dimension_only(hid_t dataset, const Where& where);

// Before dataset `name` (axes `dims`, extents `shape`) is written into
// `group`, replacing any dataset of that name: throws (naming both datasets)
// when a dim would get a second length in the group, or when a dataset named
// like a dimension is not that dimension's 1-D coordinate. A dimension-only
// scale of another length that no other dataset uses any more (a redone unit
// changed its length) is removed instead.
void check_dimensions(hid_t group, const Where& group_where, const std::string& name,
                      const std::vector<std::string>& dims, const std::vector<hsize_t>& shape);

// After dataset `name` of `group` was written (or grown): if it is a
// coordinate (1-D, dims == {name}) make it a scale and attach it to every
// matching dataset of the group; otherwise attach to it the scale of each of
// its dims, creating a dimension-only scale where the group has none (growable
// when the axis is, and grown with it). "Matching": the axis is named like the
// coordinate and has its length.
void link_scales(hid_t group, const Where& group_where, const std::string& name);
// Before dataset `name` is deleted: detach it from everything it is linked to.
void unlink_scales(hid_t group, const Where& group_where, const std::string& name);

}  // namespace mechlens::store::h5
