// `mechlens report` without a browser: which plugins bring a report function,
// the generic section for those that do not (or are not installed), the notes
// for what an archive lacks, and the --run choice. The page in a real browser:
// tests/browser/report_pages_test.py.
#include <cmath>

#include "host/archive_report.hpp"
#include "host/plugin_host.hpp"
#include "host_test_support.hpp"
#include "mechlens/plugin.hpp"
#include "store/archive.hpp"

namespace mechlens::host {
namespace {

using mechlens::testing::read_file;
using mechlens::testing::ScratchDir;

struct WithReport : Analysis {
  void run(RunContext&) override {}
  static void report(const GroupView&, ReportPage& page) { page.paragraph("drawn by the plugin"); }
};
struct WithoutReport : Analysis {
  void run(RunContext&) override {}
};
// A private helper that happens to be called `report` is not taken for the entry point.
class OtherReport : public Analysis {
 public:
  void run(RunContext&) override {}

 private:
  static void report(int) {}
};

TEST(PluginReportFunction, MechlensPluginFindsAPublicStaticReport) {
  EXPECT_EQ(detail::ReportOf<WithReport>::value, &WithReport::report);
  EXPECT_EQ(detail::ReportOf<WithoutReport>::value, nullptr);
  EXPECT_EQ(detail::ReportOf<OtherReport>::value, nullptr);
}

// Two runs: run_0001 complete with an analysis of an unknown plugin; run_0002
// as an early mechlens might leave it: no provenance, no inputs, an analysis
// listed without its group.
std::string make_archive(const ScratchDir& dir) {
  const std::string path = dir / "r.h5";
  {
    auto run = store::open_run(path, false);
    auto g = run->analysis("mystery");
    g->set_attr("plugin", std::string("mystery_plugin"));
    g->set_attr("findings", std::vector<std::string>{"the answer is 42"});
    const std::vector<double> m = {0.25, 1, -2, 4, 8, NAN};
    g->write("matrix", ArrayRef{ElementType::f64, {2, 3}, m.data()}, {"layer", "head"});
    const std::vector<std::int64_t> big(300 * 2, 1);
    g->write("too_tall", ArrayRef{ElementType::i64, {300, 2}, big.data()}, {"row", "col"});
    run->set_attr("analyses", std::vector<std::string>{"mystery"});
    run->finish();
  }
  {
    auto run = store::open_run(path, false);
    run->set_attr("analyses", std::vector<std::string>{"gone"});
    run->finish();
  }
  return path;
}

TEST(ArchiveReport, GenericSectionAndNotesForWhatIsMissing) {
  ScratchDir dir;
  const std::string archive = make_archive(dir);
  const PluginHost no_plugins(std::vector<std::string>{});
  const ReportResult result = write_report({archive, "all", ""}, no_plugins);
  EXPECT_EQ(result.path, dir / "r.html");
  EXPECT_EQ(result.sections, 2);
  EXPECT_EQ(result.figures, 1);  // `matrix` only: 300 rows is more than a heat map shows
  const std::string html = read_file(result.path);
  EXPECT_NE(html.find("data-analysis=\"mystery\""), std::string::npos);
  EXPECT_NE(html.find("<li>the answer is 42</li>"), std::string::npos);
  EXPECT_NE(html.find("plugin &#39;mystery_plugin&#39; is not available here"), std::string::npos);
  EXPECT_NE(html.find("data-name=\"matrix\""), std::string::npos);
  EXPECT_NE(html.find("<td>too_tall</td><td>[row=300, col=2]</td>"), std::string::npos);
  EXPECT_NE(html.find("this run has no provenance group"), std::string::npos);
  EXPECT_NE(html.find("this run has no inputs group"), std::string::npos);
  EXPECT_NE(html.find("the run lists analysis &#39;gone&#39; but the archive has no group analyses/gone"),
            std::string::npos);
  EXPECT_GE(result.notes, 4);
}

TEST(ArchiveReport, ChoosesARunAndNamesTheOnesThereAre) {
  ScratchDir dir;
  const std::string archive = make_archive(dir);
  const PluginHost no_plugins(std::vector<std::string>{});
  const ReportResult one = write_report({archive, "2", dir / "two.html"}, no_plugins);
  const std::string html = read_file(one.path);
  EXPECT_EQ(html.find("id=\"run_0001\""), std::string::npos);
  EXPECT_NE(html.find("id=\"run_0002\""), std::string::npos);
  try {
    write_report({archive, "run_0009", ""}, no_plugins);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no run run_0009 (runs: run_0001, run_0002)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_report({archive, "latest", ""}, no_plugins), Error);
}

}  // namespace
}  // namespace mechlens::host
