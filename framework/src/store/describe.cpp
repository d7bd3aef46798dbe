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

std::string dataset_line(const h5::DatasetInfo& info) {
  std::string line = "[";
  for (std::size_t i = 0; i < info.shape.size(); ++i) {
    if (i) line += ", ";
    if (i < info.dims.size() && info.dims.size() == info.shape.size()) line += info.dims[i] + "=";
    line += std::to_string(info.shape[i]);
  }
  line += "] " + info.dtype;
  if (info.is_scale) line += " (coordinate)";
  return line;
}

void describe_group(std::ostringstream& out, hid_t group, const h5::Where& where, int depth) {
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  for (const auto& name : h5::child_names(group, where)) {
    const h5::Where child = where.child(name);
    const h5::ObjectKind kind = h5::child_kind(group, name, where);
    if (kind == h5::ObjectKind::dataset) {
      if (name == Hdf5Group::kUnitsDataset) continue;  // shown on the group's line
      out << indent << name << " " << dataset_line(h5::dataset_info(group, where, name)) << "\n";
    } else if (kind == h5::ObjectKind::group) {
      h5::Id sub = h5::group_handle(H5Gopen2(group, name.c_str(), H5P_DEFAULT), child, "cannot open group");
      out << indent << name << "/" << attrs_line(sub.get(), child);
      if (h5::link_exists(sub.get(), Hdf5Group::kUnitsDataset, child))
        out << "  units_done=" << h5::read_strings(sub.get(), child, Hdf5Group::kUnitsDataset).size();
      out << "\n";
      describe_group(out, sub.get(), child, depth + 1);
    } else {
      out << indent << name << " (other object)\n";
    }
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
  h5::Id file = h5::file_handle(H5Fopen(archive_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), root,
                                "cannot open the archive");
  h5::Id top = h5::group_handle(H5Gopen2(file.get(), "/", H5P_DEFAULT), root, "cannot open the root group");
  std::ostringstream out;
  out << archive_path << attrs_line(top.get(), root) << "\n";
  describe_group(out, top.get(), {archive_path, ""}, 0);
  if (std::filesystem::exists(archive_path + kPartialSuffix))
    out << "note: " << archive_path << kPartialSuffix
        << " holds an unfinished run (continue it with --resume, or delete it)\n";
  return out.str();
}

}  // namespace mechlens::store
