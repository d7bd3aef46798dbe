#pragma once
// Named dimensions: the `dims` attribute, HDF5 dimension labels, and
// dimension scales linked by name within one group (see hdf5_datasets.hpp).
#include <string>
#include <vector>

#include "store/hdf5_handles.hpp"

namespace mechlens::store::h5 {

// Writes the `dims` attribute and one HDF5 dimension label per axis.
void name_axes(hid_t dataset, const std::vector<std::string>& dims, const Where& where);
// Axis names of a dataset: `dims`, else dimension labels, else empty.
std::vector<std::string> axis_names(hid_t dataset, const Where& where);

// After dataset `name` of `group` was written: if it is a coordinate (1-D,
// dims == {name}) make it a scale and attach it to every matching dataset of
// the group; otherwise attach to it every matching coordinate of the group.
// "Matching": the axis is named like the coordinate and has its length.
void link_scales(hid_t group, const Where& group_where, const std::string& name);
// Before dataset `name` is deleted: detach it from everything it is linked to.
void unlink_scales(hid_t group, const Where& group_where, const std::string& name);

}  // namespace mechlens::store::h5
