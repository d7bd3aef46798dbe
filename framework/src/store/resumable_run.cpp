#include "store/resumable_run.hpp"

#include <algorithm>
#include <filesystem>

#include "store/archive_format.hpp"
#include "store/hdf5_attributes.hpp"
#include "store/hdf5_datasets.hpp"
#include "store/hdf5_handles.hpp"

namespace mechlens::store {

namespace fs = std::filesystem;

namespace {

// Runs of a file in number order; empty when it has no /runs.
std::vector<std::string> runs_in(hid_t file, const std::string& path) {
  const h5::Where where{path, kRunsGroup};
  std::vector<std::string> out;
  if (!h5::link_exists(file, std::string(kRunsGroup).substr(1), {path, "/"})) return out;
  h5::Id runs = h5::group_handle(H5Gopen2(file, kRunsGroup, H5P_DEFAULT), where, "cannot open group");
  for (const auto& name : h5::child_names(runs.get(), where))
    if (run_number(name)) out.push_back(name);
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return *run_number(a) < *run_number(b); });
  return out;
}

std::string run_status(hid_t file, const std::string& path, const std::string& run) {
  const std::string object = std::string(kRunsGroup) + "/" + run;
  h5::Id group = h5::group_handle(H5Gopen2(file, object.c_str(), H5P_DEFAULT), {path, object}, "cannot open run");
  return h5::string_attr(group.get(), kStatus, {path, object});
}

h5::Id open_read_only(const std::string& path) {
  const h5::Where where{path, ""};
  h5::Id fapl = h5::file_access(where);
  return h5::file_handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), where, "cannot open the archive");
}

bool archive_has_run(const std::string& archive_path, const std::string& run) {
  if (!fs::exists(archive_path)) return false;
  h5::Id file = open_read_only(archive_path);
  const auto runs = runs_in(file.get(), archive_path);
  return std::find(runs.begin(), runs.end(), run) != runs.end();
}

// "provenance/resolved_recipe" → ("provenance", "resolved_recipe").
std::pair<std::string, std::string> split_key(const std::string& key) {
  const std::size_t slash = key.rfind('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

std::optional<ResumableRun> resumable_run(hid_t file, const std::string& partial, const std::string& archive_path) {
  const std::vector<std::string> runs = runs_in(file, partial);
  if (runs.empty()) return std::nullopt;
  std::optional<ResumableRun> running;
  for (const std::string& run : runs)
    if (run_status(file, partial, run) == kStatusRunning) running = ResumableRun{run, false};
  if (running) return running;
  if (run_status(file, partial, runs.back()) != kStatusComplete || archive_has_run(archive_path, runs.back()))
    return std::nullopt;
  return ResumableRun{runs.back(), true};
}

std::optional<ResumableRunRecord> read_resumable_run(const std::string& archive_path,
                                                     const std::vector<std::string>& string_attrs,
                                                     const std::vector<std::string>& string_datasets) {
  h5::quiet();
  const std::string partial = archive_path + kPartialSuffix;
  if (!fs::exists(partial) || H5Fis_hdf5(partial.c_str()) <= 0) {
    h5::error_stack_text();  // clears what H5Fis_hdf5 left
    return std::nullopt;
  }
  h5::Id file = open_read_only(partial);
  const std::optional<ResumableRun> run = resumable_run(file.get(), partial, archive_path);
  if (!run) return std::nullopt;
  ResumableRunRecord record{*run, {}, {}};
  const std::string run_path = std::string(kRunsGroup) + "/" + run->name;
  h5::Id run_group = h5::group_handle(H5Gopen2(file.get(), run_path.c_str(), H5P_DEFAULT), {partial, run_path},
                                      "cannot open run");
  // The group below the run, or an invalid Id when the run has not written it yet.
  auto open_child = [&](const std::string& group) -> h5::Id {
    if (group.empty()) return h5::group_handle(H5Gopen2(run_group.get(), ".", H5P_DEFAULT), {partial, run_path}, "cannot open run");
    if (!h5::link_exists(run_group.get(), group, {partial, run_path})) return {};
    const h5::Where where{partial, run_path + "/" + group};
    if (h5::child_kind(run_group.get(), group, {partial, run_path}) != h5::ObjectKind::group) return {};
    return h5::group_handle(H5Gopen2(run_group.get(), group.c_str(), H5P_DEFAULT), where, "cannot open group");
  };
  for (const std::string& key : string_attrs) {
    const auto [group, name] = split_key(key);
    h5::Id g = open_child(group);
    const h5::Where where{partial, run_path + "/" + group};
    if (g && h5::has_attr(g.get(), name, where)) record.string_attrs[key] = h5::string_attr(g.get(), name, where);
  }
  for (const std::string& key : string_datasets) {
    const auto [group, name] = split_key(key);
    h5::Id g = open_child(group);
    const h5::Where where{partial, run_path + "/" + group};
    if (g && h5::link_exists(g.get(), name, where)) record.string_datasets[key] = h5::read_strings(g.get(), where, name);
  }
  return record;
}

namespace {

struct Walk {
  std::string file;
  std::string root;
  std::string problem;
};

herr_t visit_object(hid_t group, const char* name, const H5O_info_t*, void* data) {
  auto* walk = static_cast<Walk*>(data);
  const std::string object = walk->root + (std::string(name) == "." ? "" : "/" + std::string(name));
  try {
    h5::Id obj(h5::check(H5Oopen(group, name, H5P_DEFAULT), {walk->file, object}, "cannot open"), H5Oclose);
    for (const std::string& attr : h5::attr_names(obj.get(), {walk->file, object}))
      h5::read_attr(obj.get(), attr, {walk->file, object});
  } catch (const std::exception& e) {
    walk->problem = e.what();
    return -1;
  }
  return 0;
}

}  // namespace

bool resumable_run_reads_back(const std::string& archive_path, std::string* problem) {
  Walk walk{archive_path + kPartialSuffix, "", ""};
  try {
    h5::quiet();
    const auto record = read_resumable_run(archive_path, {}, {});
    if (!record) {
      walk.problem = "it holds no unfinished run";
    } else {
      walk.root = std::string(kRunsGroup) + "/" + record->run.name;
      h5::Id file = open_read_only(walk.file);
      h5::Id run = h5::group_handle(H5Gopen2(file.get(), walk.root.c_str(), H5P_DEFAULT), {walk.file, walk.root},
                                    "cannot open run");
      const herr_t status = H5Ovisit2(run.get(), H5_INDEX_NAME, H5_ITER_NATIVE, visit_object, &walk,
                                      H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS);
      if (status < 0 && walk.problem.empty())
        walk.problem = walk.file + ": " + walk.root + ": cannot walk the run (" + h5::error_stack_text() + ")";
    }
  } catch (const std::exception& e) {
    walk.problem = e.what();
  }
  h5::error_stack_text();  // leave no stale HDF5 errors behind
  if (problem) *problem = walk.problem;
  return walk.problem.empty();
}

}  // namespace mechlens::store
