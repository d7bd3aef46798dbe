#pragma once
// `mechlens report`: one self-contained HTML page for an archive, every part
// drawn from the archive alone. Per run: provenance, inputs, then one section
// per analysis, drawn by the plugin's report function (plugin.hpp) or, for a
// plugin without one (or not installed here), by the generic section.
#include <string>

#include "mechlens/archive_view.hpp"
#include "mechlens/report_page.hpp"

namespace mechlens::host {

class PluginHost;

struct ReportRequest {
  std::string archive;
  std::string runs = "all";  // "all", or a run number ("3" or "run_0003")
  std::string output;        // "" = <archive without .h5>.html beside it
};

struct ReportResult {
  std::string path;
  int sections = 0;       // analysis sections written
  int figures = 0;
  int notes = 0;          // things the page says it could not show
};

ReportResult write_report(const ReportRequest& request, const PluginHost& plugins);

// The page's path when none is given: "out/results.h5" -> "out/results.html".
std::string default_report_path(const std::string& archive);

// The host's section for an analysis without a report function: findings are
// already shown; lists the datasets (shape, dims, type) of the group and its
// sub-groups one level down, and draws their numeric datasets of two or more
// axes as heat maps (the last two axes, at index 0 of the others), or, when
// there is none, 1-D numeric datasets as line plots.
void generic_section(const GroupView& group, ReportPage& page);

}  // namespace mechlens::host
