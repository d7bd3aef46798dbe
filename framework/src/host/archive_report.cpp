// `mechlens report`: the archive, run by run, as one offline HTML page.
// Everything comes from the archive (and, for thumbnails, the input images
// where they still are); a part the archive lacks is said, never guessed.
#include "host/archive_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "host/plugin_host.hpp"
#include "mechlens/abi.hpp"
#include "report/canvas.hpp"
#include "report/html_page.hpp"
#include "store/archive_view.hpp"
#include "vision/image.hpp"

namespace mechlens::host {

namespace {

using report::escape_html;
using report::HtmlSection;

std::string attr_text(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        std::ostringstream out;
        if constexpr (std::is_same_v<T, std::string>) {
          out << v;
        } else if constexpr (std::is_same_v<T, double>) {
          out << report::format_number(v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out << v;
        } else {
          out << "[";
          for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
          out << "]";
        }
        return out.str();
      },
      value);
}

// key/value rows of a group's attributes, `skip` left out (shown elsewhere).
TableFigure attr_table(const GroupView& g, const std::string& title, const std::vector<std::string>& skip) {
  TableFigure t;
  t.title = title;
  t.header = {"attribute", "value"};
  for (const auto& name : g.attr_names()) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    const auto v = g.attr(name);
    t.rows.push_back({name, v ? attr_text(*v) : "<unreadable>"});
  }
  return t;
}

void text_block(HtmlSection& s, const std::string& summary, const std::string& text, bool open = false) {
  s.raw(std::string("<details") + (open ? " open" : "") + "><summary>" + escape_html(summary) + "</summary><pre>" +
        escape_html(text) + "</pre></details>\n");
}

// `drawn_by`: "plugin" (its report function) or "generic" (the host's view), for readers and tests.
std::string section_start(const std::string& anchor, const std::string& kind, const std::string& title,
                          const std::string& analysis = "", const std::string& drawn_by = "") {
  std::string out = "<section class=\"ml-section ml-" + kind + "\" id=\"" + escape_html(anchor) + "\"";
  if (!analysis.empty()) out += " data-analysis=\"" + escape_html(analysis) + "\"";
  if (!drawn_by.empty()) out += " data-drawn-by=\"" + drawn_by + "\"";
  return out + "><h3>" + escape_html(title) + "</h3>\n";
}

void provenance(const GroupView& run, HtmlSection& s) {
  s.table(attr_table(run, "run", {}));
  if (!run.has_group("provenance")) {
    s.note("this run has no provenance group (it failed early, or an earlier mechlens wrote it): recipe, versions "
           "and timings are unknown");
  } else {
    const auto p = run.group("provenance");
    std::vector<std::string> long_texts = {"recipe", "resolved_recipe"};
    TableFigure times;
    times.title = "timings (seconds)";
    times.header = {"part", "seconds"};
    for (const auto& name : p->attr_names())
      if (name.rfind("time.", 0) == 0) {
        times.rows.push_back({name.substr(5), report::format_number(p->number_attr(name).value_or(NAN))});
        long_texts.push_back(name);
      }
    s.table(attr_table(*p, "environment and versions", long_texts));
    if (!times.rows.empty()) s.table(times);
    else s.note("no timings recorded");
    const std::string recipe = p->text_attr("recipe"), resolved = p->text_attr("resolved_recipe");
    if (recipe.empty()) s.note("the recipe text is not in the archive");
    else text_block(s, "recipe (as written)", recipe);
    if (!resolved.empty()) text_block(s, "resolved recipe (overrides, variables and defaults applied)", resolved);
  }
  if (run.has_group("model")) s.table(attr_table(*run.group("model"), "model and checkpoint identity", {}));
  else s.note("this run has no model group: the checkpoint identity is unknown");
}

// The image scaled to fit `side` pixels, as PNG (drawn with the figures' canvas).
std::string thumbnail_png(const std::string& path, int side) {
  const vision::RgbImage picture = vision::decode_image(path);
  const double scale = std::min(1.0, static_cast<double>(side) / std::max(picture.width, picture.height));
  const int w = std::max(1, static_cast<int>(std::lround(picture.width * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(picture.height * scale)));
  report::Canvas canvas(w, h, report::ImageFormat::png);
  canvas.image(picture, 0, 0, w, h);
  return canvas.finish();
}

void inputs(const GroupView& run, HtmlSection& s) {
  if (!run.has_group("inputs")) {
    s.note("this run has no inputs group");
    return;
  }
  const auto in = run.group("inputs");
  if (!in->has_dataset("input")) {
    s.note("inputs/input (the input ids) is missing");
    return;
  }
  const std::vector<std::string> ids = in->strings("input");
  auto column = [&](const std::string& name) {
    std::vector<std::string> out;
    if (in->has_dataset(name) && in->shape(name).dtype == "string") out = in->strings(name);
    else if (in->has_dataset(name))
      for (double v : in->f64(name).values) out.push_back(report::format_number(v));
    out.resize(ids.size());  // a missing column shows empty cells
    return out;
  };
  const auto text = column("text"), expected = column("expected"), n_tokens = column("n_tokens"),
             answer = column("answer_position"), image = column("image");
  TableFigure t;
  t.title = "inputs";
  t.header = {"id", "text", "expected", "tokens", "answer position", "image"};
  for (std::size_t i = 0; i < ids.size(); ++i) t.rows.push_back({ids[i], text[i], expected[i], n_tokens[i], answer[i], image[i]});
  s.table(t);

  static const char* kModality[] = {"text", "image", "special"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    s.raw("<h4>" + escape_html(ids[i]) + "</h4>\n");
    if (!image[i].empty()) {
      try {
        s.raw("<img class=\"ml-thumb\" alt=\"" + escape_html(image[i]) + "\" src=\"data:image/png;base64," +
              report::base64(thumbnail_png(image[i], 240)) + "\">\n");
      } catch (const std::exception& e) {
        s.note("image not shown (the archive keeps its path and SHA-256, not its pixels): " + std::string(e.what()));
      }
    }
    const std::string by_id = "by_id/" + ids[i];
    if (!in->has_group(by_id)) {
      s.note("no token table for input '" + ids[i] + "' (inputs/" + by_id + ")");
      continue;
    }
    const auto tok = in->group(by_id);
    if (!tok->has_dataset("tokens")) {
      s.note("inputs/" + by_id + "/tokens is missing");
      continue;
    }
    const auto tokens = tok->strings("tokens");
    std::vector<double> modality(tokens.size(), 0.0);
    if (tok->has_dataset("modality")) modality = tok->f64("modality").values;
    std::vector<double> token_ids;
    if (tok->has_dataset("ids")) token_ids = tok->f64("ids").values;
    // Runs of image tokens collapse into one span: a picture is hundreds of them.
    std::string html = "<div class=\"ml-tokens\" data-input=\"" + escape_html(ids[i]) + "\">";
    for (std::size_t p = 0; p < tokens.size(); ++p) {
      const int m = p < modality.size() ? static_cast<int>(modality[p]) : 0;
      const char* label = m >= 0 && m < 3 ? kModality[m] : "text";
      if (m == 1) {
        std::size_t end = p;
        while (end + 1 < tokens.size() && end + 1 < modality.size() && static_cast<int>(modality[end + 1]) == 1) ++end;
        html += "<span class=\"ml-tok ml-mod-image\" title=\"positions " + std::to_string(p) + "-" +
                std::to_string(end) + ", image\">[" + std::to_string(end - p + 1) + " image tokens]</span>";
        p = end;
        continue;
      }
      std::string title = "position " + std::to_string(p) + ", " + label;
      if (p < token_ids.size()) title += ", id " + report::format_number(token_ids[p]);
      html += "<span class=\"ml-tok ml-mod-" + std::string(label) + "\" title=\"" + escape_html(title) + "\">" +
              escape_html(tokens[p]) + "</span>";
    }
    s.raw(html + "</div>\n");
  }
}

struct Counts {
  int sections = 0, figures = 0, notes = 0;
};

std::string analysis_section(const GroupView& run, const std::string& run_name, const std::string& name,
                             const PluginHost& plugins, Counts& counts,
                             std::vector<std::pair<std::string, std::string>>& toc) {
  const std::string anchor = run_name + "--" + name;
  toc.emplace_back(anchor, name);
  HtmlSection s;
  std::string drawn_by = "generic";
  const std::string path = "analyses/" + name;
  if (!run.has_group(path)) {
    s.note("the run lists analysis '" + name + "' but the archive has no group " + path);
  } else {
    const auto g = run.group(path);
    const std::string plugin_name = g->text_attr("plugin", name);
    std::string meta = "plugin " + plugin_name + " " + g->text_attr("plugin_version", "(version unknown)") +
                       " · status " + g->text_attr("status", "unknown");
    if (const auto sec = g->number_attr("seconds")) meta += " · " + report::format_number(*sec) + " s";
    s.raw("<div class=\"ml-meta\">" + escape_html(meta) + "</div>\n");
    s.findings(g->texts_attr("findings"));
    if (!g->attr("findings")) s.note("no findings recorded (run written before findings were stored, or it failed)");
    const std::string params = g->text_attr("params");
    if (!params.empty()) text_block(s, "parameters", params);

    ReportFunction report = nullptr;
    std::string why_generic;
    try {
      report = plugins.find(plugin_name).report();
      if (!report) why_generic = "plugin '" + plugin_name + "' has no report function: generic view";
    } catch (const std::exception& e) {
      why_generic = "plugin '" + plugin_name + "' is not available here (" + std::string(e.what()) + "): generic view";
    }
    bool drawn = false;
    if (report) {
      // A section half-written before a failure is kept; the note says where it stopped.
      try {
        report(*g, s);
        drawn = true;
        drawn_by = "plugin";
      } catch (const std::exception& e) {
        s.note("the " + plugin_name + " section could not be drawn completely: " + e.what() +
               " — the archive's datasets follow");
      }
    } else {
      s.paragraph(why_generic);
    }
    if (!drawn) {
      try {
        generic_section(*g, s);
      } catch (const std::exception& e) {
        s.note(std::string("cannot list the group: ") + e.what());
      }
    }
  }
  ++counts.sections;
  counts.figures += s.figure_count();
  counts.notes += s.note_count();
  return section_start(anchor, "analysis", name, name, drawn_by) + s.html() + "</section>\n";
}

std::string run_part(const GroupView& runs, const std::string& run_name, const PluginHost& plugins, Counts& counts,
                     std::vector<std::pair<std::string, std::string>>& toc) {
  const auto run = runs.group(run_name);
  toc.emplace_back(run_name, run_name);
  std::string out = "<h2 id=\"" + escape_html(run_name) + "\">" + escape_html(run_name) + " <small>" +
                    escape_html(run->text_attr("status", "status unknown") + " · " + run->text_attr("started_at")) +
                    "</small></h2>\n";
  HtmlSection prov;
  provenance(*run, prov);
  toc.emplace_back(run_name + "--provenance", "provenance");
  out += section_start(run_name + "--provenance", "provenance", "provenance") + prov.html() + "</section>\n";
  HtmlSection in;
  inputs(*run, in);
  toc.emplace_back(run_name + "--inputs", "inputs");
  out += section_start(run_name + "--inputs", "inputs", "inputs") + in.html() + "</section>\n";
  counts.figures += prov.figure_count() + in.figure_count();
  counts.notes += prov.note_count() + in.note_count();

  // Recipe order when the run says it; else whatever groups are there.
  std::vector<std::string> names = run->texts_attr("analyses");
  if (names.empty() && run->has_group("analyses")) names = run->group("analyses")->groups();
  if (names.empty()) {
    HtmlSection none;
    none.note("this run has no analyses");
    counts.notes += 1;
    out += none.html();
  }
  for (const auto& name : names) out += analysis_section(*run, run_name, name, plugins, counts, toc);
  return out;
}

std::vector<std::string> chosen_runs(const GroupView& runs, const std::string& which, const std::string& archive) {
  std::vector<std::string> all;
  for (const auto& name : runs.groups())
    if (name.rfind("run_", 0) == 0) all.push_back(name);
  if (which == "all" || which.empty()) return all;
  std::string digits = which.rfind("run_", 0) == 0 ? which.substr(4) : which;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    fail("--run", "'" + which + "' is not a run number or 'all'");
  for (const auto& name : all)
    if (std::stoll(name.substr(4)) == std::stoll(digits)) return {name};
  std::string have;
  for (const auto& name : all) have += (have.empty() ? "" : ", ") + name;
  fail(archive, "no run " + which + " (runs: " + (have.empty() ? "none" : have) + ")");
}

}  // namespace

std::string default_report_path(const std::string& archive) {
  std::filesystem::path p(archive);
  p.replace_extension(".html");
  return p.string();
}

ReportResult write_report(const ReportRequest& request, const PluginHost& plugins) {
  const auto root = store::open_archive_view(request.archive);
  if (root->text_attr("format") != "mechlens-results")
    fail(request.archive, "not a mechlens archive (no format = \"mechlens-results\" on /)");
  if (!root->has_group("runs")) fail(request.archive, "the archive has no runs");
  const auto runs = root->group("runs");
  Counts counts;
  std::vector<std::pair<std::string, std::string>> toc;
  std::string body = "<h1>" + escape_html(std::filesystem::path(request.archive).filename().string()) + "</h1>\n";
  body += "<p class=\"ml-meta\">" + escape_html(std::filesystem::absolute(request.archive).string()) +
          " · drawn by mechlens " + kVersion + "</p>\n";
  for (const auto& run : chosen_runs(*runs, request.runs, request.archive))
    body += run_part(*runs, run, plugins, counts, toc);

  ReportResult result;
  result.path = request.output.empty() ? default_report_path(request.archive) : request.output;
  const std::string tmp = result.path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(result.path, "cannot write the report");
    out << report::html_document(std::filesystem::path(request.archive).filename().string() + " — mechlens report",
                                 toc, body);
    if (!out.flush()) fail(result.path, "cannot write the report (disk full?)");
  }
  std::filesystem::rename(tmp, result.path);
  result.sections = counts.sections;
  result.figures = counts.figures;
  result.notes = counts.notes;
  return result;
}

}  // namespace mechlens::host
