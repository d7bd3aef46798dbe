// `mechlens inspect`: a text listing of an archive, runs first.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "mechlens/error.hpp"
#include "store/archive.hpp"
#include "store/archive_format.hpp"
#include "store/hdf5_attributes.hpp"
#include "store/hdf5_datasets.hpp"
#include "store/hdf5_group.hpp"
#include "store/hdf5_scales.hpp"

namespace mechlens::store {

namespace {

constexpr std::size_t kLongText = 60;  // longer string attributes are summarised
constexpr std::size_t kLongList = 8;

std::string show(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        std::ostringstream out;
        if constexpr (std::is_same_v<T, std::string>) {
          if (v.size() > kLongText || v.find('\n') != std::string::npos)
            out << "<text, " << v.size() << " bytes>";
          else
            out << v;
        } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
          out << v;
        } else {
          if (v.size() > kLongList) {
            out << "[" << v.size() << " values]";
          } else {
            out << "[";
            for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
            out << "]";
          }
        }
        return out.str();
      },
      value);
}

// The store's own run attributes first, in this order; then the rest by name.
std::vector<std::string> ordered_attrs(hid_t obj, const h5::Where& where) {
  const std::vector<std::string> first = {kStatus, kStartedAt, kFinishedAt, kResumedAt, kMechlensVersion};
  const std::vector<std::string> names = h5::attr_names(obj, where);
  std::vector<std::string> out;
  for (const auto& f : first)
    if (std::find(names.begin(), names.end(), f) != names.end()) out.push_back(f);
  for (const auto& n : names)
    if (std::find(first.begin(), first.end(), n) == first.end()) out.push_back(n);
  return out;
}

std::string attrs_line(hid_t obj, const h5::Where& where) {
  std::string line;
  for (const auto& name : ordered_attrs(obj, where)) {
    const auto value = h5::read_attr(obj, name, where);
    line += "  " + name + "=" + (value ? show(*value) : "<unsupported type>");
  }
  return line;
}

std::string dataset_line(const h5::DatasetInfo& info, bool dimension_only) {
  std::string line = "[";
  for (std::size_t i = 0; i < info.shape.size(); ++i) {
    if (i) line += ", ";
    if (i < info.dims.size() && info.dims.size() == info.shape.size()) line += info.dims[i] + "=";
    line += std::to_string(info.shape[i]);
  }
  line += "]";
  if (dimension_only) return line + " (dimension, no values)";
  line += " " + info.dtype;
  if (info.is_scale) line += " (coordinate)";
  return line;
}

bool dimension_only(hid_t group, const h5::Where& where, const std::string& name) {
  const h5::Where w = where.child(name);
  h5::Id dataset = h5::dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  return h5::is_dimension_only(dataset.get(), w);
}

std::string dataset_line(hid_t group, const h5::Where& where, const std::string& name) {
  return dataset_line(h5::dataset_info(group, where, name), dimension_only(group, where, name));
}

// Runs written before dimensions followed netCDF-4 (no dims_convention):
// h5py and mechlens read them as ever, xarray cannot open their groups.
std::vector<std::string> runs_before_netcdf_dims(hid_t runs, const h5::Where& where) {
  std::vector<std::string> out;
  for (const auto& run : h5::child_names(runs, where)) {
    if (h5::child_kind(runs, run, where) != h5::ObjectKind::group) continue;
    h5::Id group = h5::group_handle(H5Gopen2(runs, run.c_str(), H5P_DEFAULT), where.child(run), "cannot open group");
    if (!h5::has_attr(group.get(), kDimsConvention, where.child(run))) out.push_back(run);
  }
  return out;
}

void describe_group(std::ostringstream& out, hid_t group, const h5::Where& where, int depth);

// One group's line ("name/  key=value ...  units_done=N"), then its members one level deeper.
void describe_subgroup(std::ostringstream& out, hid_t parent, const h5::Where& parent_where,
                       const std::string& name, const std::string& shown_as, int depth) {
  const h5::Where here = parent_where.child(name);
  h5::Id sub = h5::group_handle(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), here, "cannot open group");
  out << std::string(static_cast<std::size_t>(depth) * 2, ' ') << shown_as << attrs_line(sub.get(), here);
  if (h5::link_exists(sub.get(), Hdf5Group::kUnitsDataset, here))
    out << "  units_done=" << h5::read_strings(sub.get(), here, Hdf5Group::kUnitsDataset).size();
  out << "\n";
  describe_group(out, sub.get(), here, depth + 1);
}

void describe_group(std::ostringstream& out, hid_t group, const h5::Where& where, int depth) {
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  const bool is_run = run_number(where.object.substr(where.object.rfind('/') + 1)).has_value();
  for (const auto& name : h5::child_names(group, where)) {
    const h5::ObjectKind kind = h5::child_kind(group, name, where);
    if (kind == h5::ObjectKind::dataset) {
      if (name == Hdf5Group::kUnitsDataset) continue;  // shown on the group's line
      // A dim without coordinate (results.md §4.3): the lines of the datasets using it name it.
      if (dimension_only(group, where, name)) continue;
      out << indent << name << " " << dataset_line(group, where, name) << "\n";
    } else if (kind == h5::ObjectKind::group && is_run && name == kAnalysesGroup) {
      // Flattened: "analyses/<name>/" lines, the analysis being what a reader looks for.
      const h5::Where here = where.child(name);
      h5::Id analyses = h5::group_handle(H5Gopen2(group, name.c_str(), H5P_DEFAULT), here, "cannot open group");
      for (const auto& analysis : h5::child_names(analyses.get(), here)) {
        if (h5::child_kind(analyses.get(), analysis, here) == h5::ObjectKind::group)
          describe_subgroup(out, analyses.get(), here, analysis, name + "/" + analysis + "/", depth);
        else
          out << indent << name << "/" << analysis << " (not a group)\n";
      }
    } else if (kind == h5::ObjectKind::group) {
      describe_subgroup(out, group, where, name, name + "/", depth);
    } else {
      out << indent << name << " (other object)\n";
    }
  }
}

// Members of / other than /runs (a foreign file, or additions by other tools).
void describe_other(std::ostringstream& out, hid_t root, const h5::Where& where) {
  for (const auto& name : h5::child_names(root, where)) {
    if (name == std::string(kRunsGroup).substr(1)) continue;
    if (h5::child_kind(root, name, where) == h5::ObjectKind::group)
      describe_subgroup(out, root, where, name, name + "/", 0);
    else if (h5::child_kind(root, name, where) == h5::ObjectKind::dataset)
      out << name << " " << dataset_line(root, where, name) << "\n";
  }
}

}  // namespace

std::string describe(const std::string& archive_path) {
  h5::quiet();
  if (!std::filesystem::exists(archive_path)) {
    if (std::filesystem::exists(archive_path + kPartialSuffix))
      fail(archive_path, "no such file, but '" + archive_path + kPartialSuffix +
                             "' holds an unfinished run: inspect that file, or finish it with --resume");
    fail(archive_path, "no such file");
  }
  const htri_t is_hdf5 = H5Fis_hdf5(archive_path.c_str());
  h5::error_stack_text();
  if (is_hdf5 <= 0) fail(archive_path, "not an HDF5 file");

  const h5::Where root{archive_path, "/"};
  h5::Id fapl = h5::file_access(root);
  h5::Id file = h5::file_handle(H5Fopen(archive_path.c_str(), H5F_ACC_RDONLY, fapl.get()), root,
                                "cannot open the archive");
  h5::Id top = h5::group_handle(H5Gopen2(file.get(), "/", H5P_DEFAULT), root, "cannot open the root group");
  std::ostringstream out;
  out << archive_path << attrs_line(top.get(), root) << "\n";
  // Runs at the top level; anything else in the file (not ours) after them.
  const std::string runs_name = std::string(kRunsGroup).substr(1);
  if (h5::link_exists(top.get(), runs_name, root) && h5::child_kind(top.get(), runs_name, root) == h5::ObjectKind::group) {
    const h5::Where runs_where{archive_path, kRunsGroup};
    h5::Id runs = h5::group_handle(H5Gopen2(top.get(), runs_name.c_str(), H5P_DEFAULT), runs_where, "cannot open group");
    for (const auto& run : h5::child_names(runs.get(), runs_where))
      if (h5::child_kind(runs.get(), run, runs_where) == h5::ObjectKind::group)
        describe_subgroup(out, runs.get(), runs_where, run, run, 0);
  }
  std::vector<std::string> old_runs;
  if (h5::link_exists(top.get(), runs_name, root) && h5::child_kind(top.get(), runs_name, root) == h5::ObjectKind::group) {
    const h5::Where runs_where{archive_path, kRunsGroup};
    h5::Id runs = h5::group_handle(H5Gopen2(top.get(), runs_name.c_str(), H5P_DEFAULT), runs_where, "cannot open group");
    old_runs = runs_before_netcdf_dims(runs.get(), runs_where);
  }
  describe_other(out, top.get(), {archive_path, ""});
  if (!old_runs.empty()) {
    out << "note: ";
    for (std::size_t i = 0; i < old_runs.size(); ++i) out << (i ? ", " : "") << old_runs[i];
    out << (old_runs.size() == 1 ? " predates" : " predate")
        << " the netCDF-4 dimension convention (no " << kDimsConvention
        << " attribute): h5py and mechlens read it as before, but xarray cannot open its analysis groups "
           "(schemas/results.md §4.3); run the recipe again for an xarray-ready run\n";
  }
  if (std::filesystem::exists(archive_path + kPartialSuffix))
    out << "note: " << archive_path << kPartialSuffix
        << " holds an unfinished run (continue it with --resume, or delete it)\n";
  return out.str();
}

}  // namespace mechlens::store
