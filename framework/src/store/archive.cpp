// open_run and the run writer: runs are written into `<archive>.partial` and
// renamed over `<archive>` when finished (layout: schemas/results.md).
#include "store/archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "mechlens/abi.hpp"
#include "mechlens/error.hpp"
#include "store/archive_format.hpp"
#include "store/hdf5_attributes.hpp"
#include "store/hdf5_group.hpp"
#include "store/resumable_run.hpp"

namespace mechlens::store {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<OpenFile> open_file(const std::string& path, bool create) {
  const h5::Where where{path, ""};
  h5::Id fapl = h5::file_access(where);
  auto file = std::make_shared<OpenFile>();
  file->path = path;
  if (create)
    file->file = h5::file_handle(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), where,
                                 "cannot create the archive");
  else
    file->file = h5::file_handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), where,
                                 "cannot open the archive for writing");
  return file;
}

void sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) {
    if (directory) return;  // best effort: some file systems refuse to open directories
    fail(path, std::string("cannot open to sync: ") + std::strerror(errno));
  }
  const int status = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (status != 0 && !directory) fail(path, std::string("cannot sync to disk: ") + std::strerror(saved));
}

class Hdf5RunWriter : public RunWriter {
 public:
  // `complete`: the run was marked complete before an interruption; finish() only moves it into place.
  Hdf5RunWriter(std::shared_ptr<OpenFile> file, std::string final_path, std::string run, bool resumed,
                bool complete = false)
      : file_(std::move(file)),
        final_path_(std::move(final_path)),
        run_(std::move(run)),
        resumed_(resumed),
        complete_(complete) {}

  // Not finished: close only. The `.partial` stays for --resume; the archive is untouched.
  ~Hdf5RunWriter() override { file_->file.reset(); }

  std::string run_name() const override { return run_; }
  bool resumed() const override { return resumed_; }

  void set_attr(const std::string& name, const AttrValue& value) override { run_group().set_attr(name, value); }

  std::unique_ptr<ResultGroup> group(const std::string& name) override { return run_group().group(name); }

  std::unique_ptr<ResultGroup> analysis(const std::string& name) override {
    return run_group().group(kAnalysesGroup)->group(name);
  }

  std::string finish() override {
    Hdf5Group run = run_group();
    if (!complete_) {
      run.set_attr(kStatus, std::string(kStatusComplete));
      run.set_attr(kFinishedAt, h5::utc_now_iso8601());
    }
    file_->flush();
    const h5::Where where{file_->path, ""};
    file_->id();  // throws if already finished
    // Closing through the Id would swallow the status; a failed close means
    // unwritten data, and then the archive must not be replaced.
    h5::check_status(H5Fclose(file_->file.release()), where, "cannot close the archive");
    // On disk before the rename, and the rename itself on disk after: a power
    // failure must not leave a renamed but empty archive (H5Fflush does not fsync).
    sync_path(file_->path, false);
    std::error_code error;
    fs::rename(file_->path, final_path_, error);
    if (error) fail(file_->path, "cannot rename to '" + final_path_ + "': " + error.message());
    sync_path(fs::absolute(final_path_).parent_path().string(), true);
    return final_path_;
  }

 private:
  Hdf5Group run_group() const { return Hdf5Group(file_, std::string(kRunsGroup) + "/" + run_); }

  std::shared_ptr<OpenFile> file_;
  std::string final_path_;
  std::string run_;
  bool resumed_;
  bool complete_;
};

// Run names of /runs in the file, in name order (= number order, 4+ digits).
std::vector<std::string> run_names(const OpenFile& file) {
  const h5::Where where{file.path, kRunsGroup};
  h5::Id runs = open_or_create_group(file.id(), kRunsGroup, where);
  std::vector<std::string> out;
  for (const auto& name : h5::child_names(runs.get(), where))
    if (run_number(name)) out.push_back(name);
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return *run_number(a) < *run_number(b);
  });
  return out;
}

void check_is_archive(const std::string& path) {
  h5::quiet();
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  h5::error_stack_text();
  if (is_hdf5 <= 0) fail(path, "not an HDF5 file; refusing to add a run to it");
}

[[noreturn]] void busy(const std::string& partial) {
  fail(partial, "exists: another run is writing to this archive right now (or was interrupted: then pass --resume "
                "to continue it); this run stopped without touching either file");
}

// Copies the archive into a `.partial` that this call creates (O_EXCL): a
// second run starting on the same archive at the same moment stops, instead
// of truncating the first run's file (and deleting it when the copy fails).
void copy_exclusive(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail(from, std::string("cannot open to copy: ") + std::strerror(errno));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    const int saved = errno;
    ::close(in);
    if (saved == EEXIST) busy(to);
    fail(to, std::string("cannot create: ") + std::strerror(saved));
  }
  std::vector<char> buffer(1 << 20);
  int error = 0;
  while (!error) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : 0;
      break;
    }
    for (ssize_t done = 0; done < n && !error;) {
      const ssize_t w = ::write(out, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno != EINTR) error = errno;
      if (w > 0) done += w;
    }
  }
  ::close(in);
  if (::close(out) != 0 && !error) error = errno;
  if (error) {
    ::unlink(to.c_str());  // ours: a half copy (disk full) must not block the next attempt
    fail(to, "cannot copy '" + from + "' here: " + std::strerror(error));
  }
}

std::unique_ptr<RunWriter> start_run(const std::string& archive_path, const std::string& partial) {
  const bool append = fs::exists(archive_path);
  if (append) {
    check_is_archive(archive_path);
    copy_exclusive(archive_path, partial);
  }
  bool created = append;  // the `.partial` is this run's to remove on failure
  try {
    if (!append && fs::exists(partial)) busy(partial);
    auto file = open_file(partial, !append);
    created = true;
    Hdf5Group root(file, "/");
    if (append) {
      const std::string format = h5::string_attr(file->id(), kFormatAttr, {partial, "/"});
      if (format != kFormatName)
        fail(archive_path, "is an HDF5 file but not a mechlens archive (no format = \"" + std::string(kFormatName) +
                               "\" attribute on /); refusing to add a run to it");
    } else {
      root.set_attr(kFormatAttr, std::string(kFormatName));
      root.set_attr(kFormatVersionAttr, kFormatVersion);
    }
    const std::vector<std::string> runs = run_names(*file);
    const int number = runs.empty() ? 1 : *run_number(runs.back()) + 1;
    const std::string run = run_name_for(number);
    Hdf5Group group(file, std::string(kRunsGroup) + "/" + run);
    open_or_create_group(file->id(), group.path(), {partial, group.path()});
    group.set_attr(kStatus, std::string(kStatusRunning));
    group.set_attr(kStartedAt, h5::utc_now_iso8601());
    group.set_attr(kMechlensVersion, std::string(kVersion));
    group.set_attr(kDimsConvention, std::string(kDimsConventionNetcdf4));
    file->flush();
    return std::make_unique<Hdf5RunWriter>(file, archive_path, run, false);
  } catch (...) {
    // Nothing of the new run is worth keeping; a stale `.partial` would only
    // block the next attempt. (The archive itself was never touched.) One
    // this run did not create belongs to another run: leave it.
    std::error_code ignored;
    if (created) fs::remove(partial, ignored);
    throw;
  }
}

std::unique_ptr<RunWriter> resume_run(const std::string& archive_path, const std::string& partial) {
  if (!fs::exists(partial))
    fail(partial, "nothing to resume: no unfinished run (the file does not exist); run without --resume");
  check_is_archive(partial);
  auto file = open_file(partial, false);
  const std::optional<ResumableRun> unfinished = resumable_run(file->id(), partial, archive_path);
  if (!unfinished) fail(partial, "nothing to resume: no run has status \"running\"");
  Hdf5Group run(file, std::string(kRunsGroup) + "/" + unfinished->name);
  h5::Id g = h5::group_handle(H5Gopen2(file->id(), run.path().c_str(), H5P_DEFAULT), {partial, run.path()},
                              "cannot open run");
  std::vector<std::string> resumed_at = h5::strings_attr(g.get(), kResumedAt, {partial, run.path()});
  resumed_at.push_back(h5::utc_now_iso8601());
  g.reset();
  run.set_attr(kResumedAt, resumed_at);
  file->flush();
  return std::make_unique<Hdf5RunWriter>(file, archive_path, unfinished->name, true, unfinished->complete);
}

}  // namespace

std::unique_ptr<RunWriter> open_run(const std::string& archive_path, bool resume) {
  h5::quiet();
  const std::string partial = archive_path + kPartialSuffix;
  if (resume) return resume_run(archive_path, partial);
  if (fs::exists(partial))
    fail(partial, "an unfinished run is already in this file; pass --resume to continue it, or delete the file "
                  "to start over (the archive '" + archive_path + "' itself is intact)");
  // `--out results/x.h5` on a fresh checkout: make the folder, as users expect.
  const fs::path parent = fs::path(archive_path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::exists(parent) && !fs::create_directories(parent, ec))
    fail(archive_path, "cannot create the folder '" + parent.string() + "': " + ec.message());
  return start_run(archive_path, partial);
}

}  // namespace mechlens::store
