#!/usr/bin/env python3
"""`mechlens report` pages in a real headless browser (Debian's chromium).

Runs every shipped toy recipe (experiments/toy/*.toml) with `mechlens run
--report`, then opens all pages in ONE chromium, driven through the DevTools
protocol over a pipe (--remote-debugging-pipe: no port, no npm, nothing
downloaded), and checks per page:
  * it loads with no console error, no uncaught exception and no network
    request (everything inline);
  * every analysis the archive lists (h5py) has its section, and the section's
    first figure is decoded and not blank (a screenshot of it has many colours);
  * hovering a known heat-map cell shows the value the archive holds there
    (read independently with h5py);
and, on copies with a dataset / group deleted (h5py `del`), that
`mechlens report` still writes a page that loads cleanly and says what is
missing. Screenshots of every section are kept in ARTEFACTS/<page>/.

usage: report_pages_test.py MECHLENS_BINARY SOURCE_DIR WORK_DIR
exit 0 = pass, 1 = fail, 77 = skipped (chromium or h5py missing, and neither
CI=true nor MECHLENS_REQUIRE_REFERENCES=1).
"""
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
CHROMIUM = os.environ.get("MECHLENS_CHROMIUM", "/usr/bin/chromium")
# tiny_bert_sensitivity.toml runs the random tiny BERT tools/demo.sh writes (MECHLENS_MODELS): not a shipped model.
NOT_SELF_CONTAINED = {"tiny_bert_sensitivity.toml"}


def required():
    return os.environ.get("CI") == "true" or os.environ.get("MECHLENS_REQUIRE_REFERENCES") == "1"


def skip_or_fail(why):
    if required():
        print(f"FAIL: {why} (required: CI=true or MECHLENS_REQUIRE_REFERENCES=1; tools/setup.sh installs it)")
        sys.exit(1)
    print(f"SKIP: {why}")
    sys.exit(SKIP)


try:
    import h5py
    import numpy as np
    from PIL import Image
except ImportError as e:
    skip_or_fail(f"python module missing: {e.name}")

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("  FAIL:", message)
    return condition


class Browser:
    """Chromium's DevTools protocol over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire_fds():  # via fds out of the way: either pipe end may itself be 3 or 4
            a, b = os.dup2(to_browser_r, 100), os.dup2(from_browser_w, 101)
            os.dup2(a, 3)
            os.dup2(b, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                 "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                 "--window-size=1400,1000", "about:blank"]
        self.proc = subprocess.Popen([CHROMIUM] + flags, preexec_fn=wire_fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method, session, timeout=60):
        deadline = time.time() + timeout
        while True:
            for e in self.events:
                if e["method"] == method and e.get("sessionId") == session:
                    self.events.remove(e)
                    return e
            self.events.append(self._read_message(deadline))

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Page:
    def __init__(self, browser):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None, timeout=60):
        return self.b.send(method, params, self.session, timeout)

    def open(self, path):
        self.b.events.clear()
        self.url = "file://" + os.path.abspath(path)
        self.send("Page.navigate", {"url": self.url})
        self.b.wait_for("Page.loadEventFired", self.session, timeout=120)
        self.eval("1")  # drain what the load logged

    def eval(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self):
        """Console errors, uncaught exceptions and network requests since open()."""
        out = []
        for e in self.b.events:
            if e.get("sessionId") != self.session:
                continue
            m, p = e["method"], e["params"]
            if m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append("console error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Runtime.exceptionThrown":
                out.append("uncaught exception: " + p["exceptionDetails"].get("text", "")
                           + str(p["exceptionDetails"].get("exception", {}).get("description", "")))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append("log error: " + p["entry"]["text"])
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith("data:") and url != self.url:
                    out.append("network request: " + url)
        return out

    def screenshot(self, rect, path):
        clip = {"x": rect["x"], "y": rect["y"], "width": max(1, rect["width"]),
                "height": max(1, min(rect["height"], 6000)), "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        import base64
        raw = base64.b64decode(data["data"])
        with open(path, "wb") as f:
            f.write(raw)
        return Image.open(io.BytesIO(raw)).convert("RGB")


SECTIONS_JS = """
Array.from(document.querySelectorAll('section.ml-analysis')).map(function (s) {
  var r = s.getBoundingClientRect(), img = s.querySelector('figure.ml-figure img'), f = null;
  if (img) { var q = img.getBoundingClientRect();
    f = {x: q.left + scrollX, y: q.top + scrollY, width: q.width, height: q.height,
         complete: img.complete, natural: img.naturalWidth}; }
  return {analysis: s.getAttribute('data-analysis'), id: s.id, figures: s.querySelectorAll('figure.ml-figure').length,
          notes: Array.from(s.querySelectorAll('.ml-note')).map(function (n) { return n.textContent; }),
          rect: {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}, figure: f};
})
"""


def not_blank(image):
    """A drawn figure, not an empty box: many colours and some contrast."""
    small = image.resize((min(image.width, 400), min(image.height, 400)))
    colours = len(set(small.getdata()))
    spread = np.asarray(small, dtype=float).std()
    return colours >= 16 and spread > 10, f"{colours} colours, spread {spread:.1f}"


def hover_value(page, section_id, figure_name):
    """Moves the pointer onto cell (row, col) of a heat map; returns the tooltip's text."""
    def at(row, col):
        box = page.eval(f"""(function () {{
          var fig = document.querySelector('#{section_id} figure[data-name="{figure_name}"]');
          if (!fig) return null;
          fig.scrollIntoView({{block: 'center'}});
          var d = JSON.parse(fig.getAttribute('data-heatmap')), img = fig.querySelector('img');
          var r = img.getBoundingClientRect(), s = img.clientWidth / img.naturalWidth;
          return {{x: r.left + (d.left + ({col} + 0.5) * d.cell_w) * s, y: r.top + (d.top + ({row} + 0.5) * d.cell_h) * s}};
        }})()""")
        if box is None:
            return f"no heat map '{figure_name}' in section {section_id}"
        page.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["x"], "y": box["y"]})
        return page.eval("(function () { var t = document.getElementById('ml-tip');"
                         " return t.style.display === 'block' ? t.textContent : null; })()")
    return at


def number_in(text):
    m = re.search(r":\s*([-+0-9.eE]+|NaN)", text or "")
    return float(m.group(1)) if m else None


def same_as_files(html, figures):
    """The page's figures against the PNG files the run wrote (<stem>_figures/<run>/<analysis>/<name>.png):
    the plugins' report functions redraw them from the archive, byte for byte (generic sections are not compared). Returns (identical, different)."""
    import base64
    text = open(html, encoding="utf-8").read()
    same, different = 0, []
    for section in re.finditer(r'<section class="ml-section ml-analysis" id="(run_\d+)--([^"]+)" data-analysis="[^"]*" data-drawn-by="plugin"(.*?)</section>', text, re.S):
        run, analysis, body = section.groups()
        for m in re.finditer(r'data-name="([^"]*)".*?base64,([A-Za-z0-9+/=]*)', body, re.S):
            path = os.path.join(figures, run, analysis, m.group(1) + ".png")
            if os.path.exists(path):
                if open(path, "rb").read() == base64.b64decode(m.group(2)):
                    same += 1
                else:
                    different.append(path)
    return same, different


def check_pan_zoom(page, name):
    """The first scatter plot on the page zooms on the wheel and pans on a drag."""
    box = page.eval("""(function () {
      var f = document.querySelector('.ml-pan'); if (!f) return null;
      f.scrollIntoView({block: 'center'}); var r = f.getBoundingClientRect();
      return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()""")
    if box is None:
        return False
    page.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": box["x"], "y": box["y"], "deltaX": 0, "deltaY": -120})
    zoomed = page.eval("document.querySelector('.ml-pan img').style.transform")
    check("scale(1.2)" in (zoomed or ""), f"{name}: wheel over a scatter plot did not zoom ({zoomed!r})")
    page.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})
    page.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["x"] + 40, "y": box["y"] + 10, "button": "left"})
    page.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": box["x"] + 40, "y": box["y"] + 10, "button": "left", "clickCount": 1})
    panned = page.eval("document.querySelector('.ml-pan img').style.transform")
    check(panned != zoomed and "scale(1.2)" in (panned or ""), f"{name}: dragging a scatter plot did not pan ({panned!r})")
    print(f"  {name}: scatter zoom -> {zoomed}, drag -> {panned}")
    return True


def latest_run(archive):
    with h5py.File(archive, "r") as f:
        return sorted(f["runs"])[-1]


def check_page(page, html, archive, name, artefacts, deleted=None):
    t0 = time.time()
    page.open(html)
    problems = page.problems()
    check(not problems, f"{name}: " + "; ".join(problems[:5]))
    sections = page.eval(SECTIONS_JS)
    with h5py.File(archive, "r") as f:
        analyses = []
        for run in sorted(f["runs"]):
            analyses += [str(a) for a in f["runs"][run].attrs["analyses"]]
    check(len(sections) == len(analyses) and [s["analysis"] for s in sections] == analyses,
          f"{name}: sections {[s['analysis'] for s in sections]} != archive's analyses {analyses}")
    folder = os.path.join(artefacts, name)
    os.makedirs(folder, exist_ok=True)
    for s in sections:
        shot = page.screenshot(s["rect"], os.path.join(folder, s["id"].replace("/", "_") + ".png"))
        if not check(s["figure"] is not None, f"{name}/{s['analysis']}: no figure (notes: {s['notes']})"):
            continue
        check(s["figure"]["complete"] and s["figure"]["natural"] > 0, f"{name}/{s['analysis']}: figure not decoded")
        figure = page.screenshot(s["figure"], os.path.join(folder, s["id"].replace("/", "_") + ".figure.png"))
        ok, how = not_blank(figure)
        check(ok, f"{name}/{s['analysis']}: first figure looks blank ({how})")
        if deleted is None:
            check(not s["notes"], f"{name}/{s['analysis']}: notes on a complete archive: {s['notes']}")
    print(f"  {name}: {len(sections)} sections, {sum(s['figures'] for s in sections)} figures, "
          f"{time.time() - t0:.1f} s in the browser")
    return sections


def check_hover(page, archive, name, sections):
    """Every sensitivity_matrix / head_modality_split section: the tooltip over the
    largest cell of a heat map shows the archive's value there."""
    with h5py.File(archive, "r") as f:
        run = f["runs"][latest_run(archive)]
        for s in sections:
            group = run["analyses"][s["analysis"]]
            plugin = group.attrs.get("plugin", "")
            if plugin == "sensitivity_matrix":
                metric = [str(m) for m in group.attrs["param.metrics"]][0]
                data = group[metric][0]  # input 0: [layer, head]
                figure = f"{metric}_{group['input'].asstr()[0]}"
            elif plugin == "head_modality_split":
                data = group["mass_mean"][:, :, 1]  # image share [layer, head]
                figure = "image_share"
            else:
                continue
            finite = np.where(np.isfinite(data), np.abs(data), -1)
            row, col = np.unravel_index(int(np.argmax(finite)), data.shape)
            text = hover_value(page, s["id"], figure)(row, col)
            shown = number_in(text)
            want = float(data[row, col])
            check(shown is not None and math.isclose(shown, want, rel_tol=1e-5, abs_tol=1e-12),
                  f"{name}/{s['analysis']}: hover on {figure} ({row}, {col}) shows {text!r}, archive has {want}")
            check(text and f"layer {row}" in text and f"head {col}" in text,
                  f"{name}/{s['analysis']}: hover text {text!r} does not name layer {row} head {col}")
            print(f"  {name}/{s['analysis']}: hover ({row}, {col}) -> {text!r}")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    mechlens, source, work = sys.argv[1:]
    if not os.path.exists(CHROMIUM):
        skip_or_fail(f"{CHROMIUM} not installed")
    os.makedirs(work, exist_ok=True)
    artefacts = os.path.join(work, "screenshots")
    shutil.rmtree(artefacts, ignore_errors=True)
    toy = os.path.join(source, "experiments", "toy")
    recipes = sorted(r for r in os.listdir(toy) if r.endswith(".toml") and r not in NOT_SELF_CONTAINED)
    check(len(recipes) >= 5, f"only {len(recipes)} toy recipes found in {toy}")

    pages = []
    t0 = time.time()
    reuse = os.environ.get("MECHLENS_REPORT_TEST_REUSE") == "1"  # development: keep the archives of a previous run
    for recipe in recipes:
        if reuse and os.path.exists(os.path.join(work, recipe[:-5] + ".html")):
            pages.append((recipe[:-5], os.path.join(work, recipe[:-5] + ".h5"), os.path.join(work, recipe[:-5] + ".html")))
            continue
        stem = recipe[:-5]
        archive = os.path.join(work, stem + ".h5")
        for old in (archive, archive + ".partial"):
            if os.path.exists(old):
                os.remove(old)
        t = time.time()
        run = subprocess.run([mechlens, "run", os.path.join(toy, recipe), "-o", archive, "--report"],
                             capture_output=True, text=True)
        if not check(run.returncode == 0, f"{recipe}: mechlens run failed: {run.stderr[-800:]}"):
            continue
        html = os.path.join(work, stem + ".html")
        check(f"report: {html}" in run.stdout, f"{recipe}: run --report did not print the page path: {run.stdout}")
        pages.append((stem, archive, html))
        same, different = same_as_files(html, os.path.join(work, stem + "_figures"))
        check(not different, f"{recipe}: page figures differ from the run's files: {different[:3]}")
        print(f"  ran {recipe} in {time.time() - t:.1f} s, page {os.path.getsize(html) // 1024} KiB, "
              f"{same} figures byte-identical to the run's PNG files")
    print(f"recipes and pages: {time.time() - t0:.1f} s")
    check(sum(same_as_files(h, os.path.join(work, st + "_figures"))[0] for st, _, h in pages) >= 20,
          "fewer than 20 page figures could be matched with the run's PNG files")

    # Damaged copies: a dataset a plugin's report needs, and a whole group of the run.
    damaged = []
    # (path in the run, what the page must say instead)
    deletions = {
        "grammar_bert_sensitivity": [("analyses/sensitivity_matrix/top1_prob_change",
                                      "metric 'top1_prob_change' is not in the archive"),
                                     ("provenance", "this run has no provenance group")],
        "induction_logit_lens": [("analyses/lens/target_rank", "analyses/lens/target_rank: no such dataset"),
                                 ("inputs/answer_position", "inputs/answer_position")],
    }
    for stem, archive, _ in pages:
        if stem not in deletions:
            continue
        copy = os.path.join(work, stem + "_damaged.h5")
        shutil.copyfile(archive, copy)
        with h5py.File(copy, "r+") as f:
            run = f["runs"][latest_run(copy)]
            for path, _ in deletions[stem]:
                del run[path]
        html = os.path.join(work, stem + "_damaged.html")
        out = subprocess.run([mechlens, "report", copy, "-o", html], capture_output=True, text=True)
        if check(out.returncode == 0, f"{stem}: mechlens report on the damaged copy failed: {out.stderr}"):
            damaged.append((stem + "_damaged", copy, html, deletions[stem]))
    check(len(damaged) == len(deletions), f"damaged copies made: {[d[0] for d in damaged]}")

    with tempfile.TemporaryDirectory() as profile:
        t = time.time()
        browser = Browser(profile)
        try:
            page = Page(browser)
            print(f"chromium up in {time.time() - t:.1f} s")
            scatters = 0
            for stem, archive, html in pages:
                sections = check_page(page, html, archive, stem, artefacts)
                check_hover(page, archive, stem, sections)
                scatters += check_pan_zoom(page, stem)
            check(scatters >= 1, "no page with a scatter plot to pan and zoom")
            for stem, archive, html, deleted in damaged:
                sections = check_page(page, html, archive, stem, artefacts, deleted)
                text = page.eval("document.body.innerText")
                for path, said in deleted:
                    check(said in text, f"{stem}: the page does not say that '{path}' is missing ({said!r})")
        finally:
            browser.close()
    print(f"browser part: {time.time() - t:.1f} s; screenshots in {artefacts}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all report pages passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
