#pragma once
// Which run `--resume` continues in `<archive>.partial`, and what that run
// was started with, read without writing: the host compares it with the
// recipe it is given before anything of the new attempt touches the file.
#include <hdf5.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mechlens::store {

struct ResumableRun {
  std::string name;       // "run_0003"
  // Every analysis finished and the run was marked complete, but the process
  // died before the rename: --resume only moves the file into place.
  bool complete = false;
};

// The run of an open `.partial` that --resume continues: the last with status
// "running"; when every run is complete, the last run, unless `archive_path`
// already holds a run of that name (the `.partial` then holds nothing new).
std::optional<ResumableRun> resumable_run(hid_t file, const std::string& partial, const std::string& archive_path);

// What the resumable run recorded. Keys are "<group>/<name>" relative to the
// run ("provenance/resolved_recipe", "inputs/input"); a key that the run has
// not written yet is absent.
struct ResumableRunRecord {
  ResumableRun run;
  std::map<std::string, std::string> string_attrs;
  std::map<std::string, std::vector<std::string>> string_datasets;
};

// nullopt when there is no `.partial` or it holds no resumable run (open_run
// then says so). Read-only.
std::optional<ResumableRunRecord> read_resumable_run(const std::string& archive_path,
                                                     const std::vector<std::string>& string_attrs,
                                                     const std::vector<std::string>& string_datasets);

// After a failed write (a full disk): whether the resumable run's every
// object header and attribute still reads back. A `.partial` that fails this
// would only fail --resume again, so the host removes it. `problem` gets the
// first failure. False as well when there is no resumable run.
bool resumable_run_reads_back(const std::string& archive_path, std::string* problem = nullptr);

}  // namespace mechlens::store
