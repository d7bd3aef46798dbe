// The report page's style and script, inline in every page (it must work
// offline, from a file, with nothing fetched). The script: heat-map hover
// read-out (value and row/column labels under the pointer, from the figure's
// data-heatmap geometry) and pan/zoom of scatter plots.
#include "report/html_page.hpp"

namespace mechlens::report {

namespace {

const char* const kStyle = R"CSS(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
nav { position: fixed; top: 0; left: 0; bottom: 0; width: 230px; overflow-y: auto; background: #f0f0f0;
      border-right: 1px solid #ddd; padding: 10px; font-size: 13px; box-sizing: border-box; }
nav a { display: block; color: #234; text-decoration: none; padding: 2px 0; }
nav a.ml-run { font-weight: bold; margin-top: 8px; }
main { margin-left: 240px; padding: 10px 24px 40px 16px; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 19px; border-bottom: 2px solid #345; padding-bottom: 3px; margin-top: 32px; }
h3 { font-size: 16px; margin: 0 0 6px 0; } h4 { font-size: 14px; margin: 14px 0 4px 0; }
section.ml-section { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 12px 14px; margin: 14px 0; }
.ml-meta { color: #555; font-size: 12px; margin-bottom: 6px; }
ul.ml-findings { background: #eef6ee; border-left: 4px solid #3a7d44; padding: 8px 8px 8px 28px; margin: 6px 0 10px 0; }
.ml-note { background: #fff4e0; border-left: 4px solid #d08a00; padding: 6px 10px; margin: 6px 0; font-size: 13px; }
figure.ml-figure { display: inline-block; margin: 8px 12px 8px 0; vertical-align: top; position: relative; }
figure.ml-figure img { max-width: 100%; display: block; }
figcaption { font-size: 12px; color: #555; }
.ml-pan { overflow: hidden; border: 1px solid #ccc; cursor: grab; max-width: 900px; }
.ml-pan img { transform-origin: 0 0; user-select: none; -webkit-user-drag: none; }
.ml-tip { position: fixed; pointer-events: none; background: #222; color: #fff; font-size: 12px; padding: 3px 6px;
          border-radius: 3px; white-space: nowrap; display: none; z-index: 10; }
.ml-table { overflow-x: auto; max-height: 420px; overflow-y: auto; margin: 6px 0; }
table { border-collapse: collapse; font-size: 12px; } caption { text-align: left; font-weight: bold; padding: 2px 0; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; max-height: 400px; }
details { margin: 4px 0; } summary { cursor: pointer; font-size: 13px; }
.ml-tokens { line-height: 1.9; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
.ml-tok { border-radius: 2px; padding: 1px 2px; margin: 0 1px; }
.ml-mod-text { background: #e4ecf7; } .ml-mod-image { background: #f7e4d4; } .ml-mod-special { background: #e6e6e6; }
.ml-thumb { max-width: 240px; max-height: 240px; border: 1px solid #ccc; }
)CSS";

const char* const kScript = R"JS(
(function () {
  var tip = document.createElement('div');
  tip.className = 'ml-tip';
  tip.id = 'ml-tip';
  document.body.appendChild(tip);
  function fmt(v) { return v === null ? 'not computed' : Number(v).toPrecision(6); }
  function name(names, i) { return i < names.length ? names[i] : String(i); }
  document.querySelectorAll('figure[data-heatmap]').forEach(function (fig) {
    var d = JSON.parse(fig.getAttribute('data-heatmap'));
    var img = fig.querySelector('img');
    img.addEventListener('mousemove', function (e) {
      var s = img.naturalWidth / img.clientWidth;
      var r = img.getBoundingClientRect();
      var x = (e.clientX - r.left) * s, y = (e.clientY - r.top) * s;
      var c = Math.floor((x - d.left) / d.cell_w), row = Math.floor((y - d.top) / d.cell_h);
      if (c < 0 || row < 0 || c >= d.cols || row >= d.rows) { tip.style.display = 'none'; return; }
      var i = row * d.cols + c;
      var text = d.row_label + ' ' + name(d.row_names, row) + ', ' + d.col_label + ' ' + name(d.col_names, c) +
                 ': ' + fmt(d.values[i]);
      if (d.cell_text.length) text += ' (' + d.cell_text[i] + ')';
      tip.textContent = text;
      tip.setAttribute('data-row', row);
      tip.setAttribute('data-col', c);
      tip.style.display = 'block';
      tip.style.left = (e.clientX + 14) + 'px';
      tip.style.top = (e.clientY + 14) + 'px';
    });
    img.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  });
  document.querySelectorAll('.ml-pan').forEach(function (frame) {
    var img = frame.querySelector('img'), k = 1, tx = 0, ty = 0, drag = null;
    function apply() { img.style.transform = 'translate(' + tx + 'px,' + ty + 'px) scale(' + k + ')'; }
    frame.addEventListener('wheel', function (e) {
      e.preventDefault();
      var r = frame.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
      var f = e.deltaY < 0 ? 1.2 : 1 / 1.2, nk = Math.min(20, Math.max(1, k * f));
      tx = px - (px - tx) * nk / k; ty = py - (py - ty) * nk / k; k = nk;
      if (k === 1) { tx = 0; ty = 0; }
      apply();
    }, { passive: false });
    frame.addEventListener('mousedown', function (e) { drag = [e.clientX - tx, e.clientY - ty]; e.preventDefault(); });
    window.addEventListener('mousemove', function (e) { if (drag) { tx = e.clientX - drag[0]; ty = e.clientY - drag[1]; apply(); } });
    window.addEventListener('mouseup', function () { drag = null; });
    frame.addEventListener('dblclick', function () { k = 1; tx = 0; ty = 0; apply(); });
  });
})();
)JS";

}  // namespace

std::string html_document(const std::string& title, const std::vector<std::pair<std::string, std::string>>& toc,
                          const std::string& body) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  // Nothing may be fetched: the policy makes any stray reference fail loudly in the console.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n";
  out += "<title>" + escape_html(title) + "</title>\n<style>" + kStyle + "</style></head>\n<body>\n<nav>";
  for (const auto& [anchor, label] : toc) {
    const bool run = anchor.find("--") == std::string::npos;
    out += "<a href=\"#" + escape_html(anchor) + "\"" + (run ? " class=\"ml-run\"" : "") + ">" + escape_html(label) + "</a>";
  }
  out += "</nav>\n<main>\n" + body + "</main>\n<script>" + kScript + "</script>\n</body></html>\n";
  return out;
}

}  // namespace mechlens::report
