#!/usr/bin/python3
"""tests/VALUE_CHECKS.md as a rule: every dataset a shipped plugin stores is
listed there with the test that checks its values and what it is checked
against.

  value_checks.py table
      checks the table itself: every plugin folder (plugins/<name>/) has a
      section, every row names tests that exist (the file, and the test's
      name in it) and says what it is checked against.
  value_checks.py archive ARCHIVE.h5
      lists the datasets each analysis of the archive's last run stored
      (tests/toys/list_stored_datasets.py: input ids, crop numbers and layer
      numbers of hook names as placeholders) and fails on any not in the
      table under its plugin, printing the row to add.

Prints what is wrong and exits 1; prints "ok ..." and exits 0 otherwise.
"""
import json
import os
import re
import subprocess
import sys

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TABLE = os.path.join(SOURCE, "tests", "VALUE_CHECKS.md")
KINDS = ("Python reference", "hand-derived", "toy mechanism", "structural only")
HOW_TO = (
    "tests/VALUE_CHECKS.md lists, per plugin (a `## <plugin>` section), every dataset the plugin stores, "
    "with a row\n  | `<dataset>` | `tests/<folder>/<file>.cpp` <Suite>.<TestName> | <one of: "
    + ", ".join(KINDS) + ">: <what the test compares the values with> |\n"
    "and the named test must check it (add the check first; \"structural only\" says no value is checked). "
    "Paths are relative to the analysis group; per-input groups are written <input>, crop_0.. crop_<n>, "
    "layer numbers in hook names <n> (blocks.<n>.attn.hook_q).")


def parse_table():
    """{plugin: {dataset: (tests cell, kind cell, line number)}}"""
    sections, plugin = {}, None
    with open(TABLE, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            heading = re.match(r"^## (\S+)\s*$", line)
            if heading:
                plugin = heading.group(1)
                sections.setdefault(plugin, {})
                continue
            if plugin is None or not line.startswith("| `"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3:
                continue
            for dataset in re.findall(r"`([^`]+)`", cells[0]):
                sections[plugin][dataset] = (cells[1], cells[2], number)
    return sections


def check_table():
    sections = parse_table()
    problems = []
    plugins = sorted(d for d in os.listdir(os.path.join(SOURCE, "plugins"))
                     if os.path.isfile(os.path.join(SOURCE, "plugins", d, "CMakeLists.txt")))
    for plugin in plugins:
        if not sections.get(plugin):
            problems.append("plugins/%s has no `## %s` section with dataset rows in tests/VALUE_CHECKS.md" % (plugin, plugin))
    for plugin, rows in sections.items():
        if plugin not in plugins:
            problems.append("tests/VALUE_CHECKS.md: section `## %s` names no folder under plugins/" % plugin)
        for dataset, (tests, kind, number) in rows.items():
            where = "tests/VALUE_CHECKS.md:%d (%s/%s)" % (number, plugin, dataset)
            if not kind.startswith(KINDS):
                problems.append("%s: the last cell must start with one of: %s" % (where, ", ".join(KINDS)))
            named = re.findall(r"`(tests/[^`]+)`((?:\s*(?:,\s*)?[A-Za-z0-9_]+\.[A-Za-z0-9_]+)+)", tests)
            if not named:
                problems.append("%s: name the test as `tests/<path>` Suite.Name" % where)
            for path, names in named:
                try:
                    with open(os.path.join(SOURCE, path), encoding="utf-8") as f:
                        text = f.read()
                except OSError:
                    problems.append("%s: %s does not exist" % (where, path))
                    continue
                for name in re.findall(r"[A-Za-z0-9_]+\.[A-Za-z0-9_]+", names):
                    suite, test = name.split(".")
                    if suite not in text or test not in text:
                        problems.append("%s: %s has no test %s" % (where, path, name))
    return problems, "%d plugins, %d datasets" % (len(sections), sum(len(r) for r in sections.values()))


def check_archive(archive):
    lister = os.path.join(SOURCE, "tests", "toys", "list_stored_datasets.py")
    stored = json.loads(subprocess.run([sys.executable, lister, archive], check=True, capture_output=True,
                                       text=True).stdout)
    sections = parse_table()
    problems = []
    for plugin, datasets in stored.items():
        for dataset in datasets:
            if dataset not in sections.get(plugin, {}):
                problems.append("plugin %s stores `%s`, which tests/VALUE_CHECKS.md does not list under `## %s`: "
                                "add the row\n  | `%s` | `tests/...cpp` Suite.Name | %s: ... |"
                                % (plugin, dataset, plugin, dataset, " / ".join(KINDS)))
    return problems, "%d datasets of %s" % (sum(len(d) for d in stored.values()), ", ".join(sorted(stored)))


def main():
    if sys.argv[1:2] == ["table"]:
        problems, summary = check_table()
    elif sys.argv[1:2] == ["archive"] and len(sys.argv) == 3:
        problems, summary = check_archive(sys.argv[2])
    else:
        sys.exit(__doc__)
    if problems:
        print("\n".join(problems))
        print("\n" + HOW_TO)
        sys.exit(1)
    print("ok: " + summary)


if __name__ == "__main__":
    main()
