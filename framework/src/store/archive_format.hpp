#pragma once
// Names fixed by schemas/results.md, in one place.
#include <cstdint>
#include <optional>
#include <string>

namespace mechlens::store {

inline constexpr const char* kFormatAttr = "format";  // on /
inline constexpr const char* kFormatName = "mechlens-results";
inline constexpr const char* kFormatVersionAttr = "format_version";
inline constexpr std::int64_t kFormatVersion = 1;

inline constexpr const char* kRunsGroup = "/runs";
inline constexpr const char* kAnalysesGroup = "analyses";  // inside a run
inline constexpr const char* kPartialSuffix = ".partial";

// Run attributes the store itself writes.
inline constexpr const char* kStatus = "status";
inline constexpr const char* kStatusRunning = "running";
inline constexpr const char* kStatusComplete = "complete";
inline constexpr const char* kStartedAt = "started_at";
inline constexpr const char* kFinishedAt = "finished_at";
inline constexpr const char* kResumedAt = "resumed_at";
inline constexpr const char* kMechlensVersion = "mechlens_version";
// Runs written since every dataset's dims are netCDF-4 dimension scales of its
// own group (results.md §4.3), so xarray opens each group; older runs lack it.
inline constexpr const char* kDimsConvention = "dims_convention";
inline constexpr const char* kDimsConventionNetcdf4 = "netcdf-4";

// "run_0007" -> 7; nullopt for anything else ("run_7", "run_x", "other").
inline std::optional<int> run_number(const std::string& name) {
  const std::string prefix = "run_";
  if (name.size() < prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  int n = 0;
  for (std::size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || n > 99999999) return std::nullopt;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

// 7 -> "run_0007" (more digits past 9999).
inline std::string run_name_for(int number) {
  std::string digits = std::to_string(number);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return "run_" + digits;
}

}  // namespace mechlens::store
