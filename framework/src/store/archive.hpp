#pragma once
// The HDF5 archive (layout in schemas/results.md). One `mechlens run` = one
// group /runs/run_NNNN. The run is written into `<out>.partial` (a copy of the
// existing archive, if any, so earlier runs are kept) and renamed over `<out>`
// only when finished: a crash never leaves `<out>` unreadable, and
// `resume` reopens the `.partial` file and continues the unfinished run.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mechlens/store.hpp"

namespace mechlens::store {

class RunWriter {
 public:
  virtual ~RunWriter() = default;
  virtual std::string run_name() const = 0;  // "run_0001"
  virtual bool resumed() const = 0;          // true when continuing an unfinished run
  // Run-level provenance attributes (recipe text, versions, times, ...).
  virtual void set_attr(const std::string& name, const AttrValue& value) = 0;
  // /runs/run_NNNN/<name> (e.g. "inputs", "model"), created if needed.
  virtual std::unique_ptr<ResultGroup> group(const std::string& name) = 0;
  // /runs/run_NNNN/analyses/<name>.
  virtual std::unique_ptr<ResultGroup> analysis(const std::string& name) = 0;
  // Marks the run complete, flushes, closes and renames `.partial` to the
  // final path. Returns the final path.
  virtual std::string finish() = 0;
};

// resume=false: starts a new run (an existing `.partial` is an error telling
// the user to --resume or delete it). resume=true: continues the last
// unfinished run in `.partial` (error if there is none).
std::unique_ptr<RunWriter> open_run(const std::string& archive_path, bool resume);

// Human-readable listing for `mechlens inspect`: runs (with status, start/end
// time), analyses, datasets with shapes and dimension names.
std::string describe(const std::string& archive_path);

}  // namespace mechlens::store
