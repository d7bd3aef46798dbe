// mechlens: run interpretability recipes and look at what they need and made.
#include <algorithm>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "host/allocator.hpp"
#include "mechlens/abi.hpp"
#include "mechlens/error.hpp"

namespace {

using mechlens::cli::Args;

struct Command {
  int (*main)(const Args&);
  const char* summary;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table{
      {"run", {mechlens::cli::run_command, "run a recipe and write its results archive"}},
      {"validate", {mechlens::cli::validate_command, "check a recipe and every plugin's parameters (no model loaded)"}},
      {"plugins", {mechlens::cli::plugins_command, "list the analysis plugins found"}},
      {"adapters", {mechlens::cli::adapters_command, "list the model adapters built in"}},
      {"describe", {mechlens::cli::describe_command, "show a plugin's parameters"}},
      {"inspect", {mechlens::cli::inspect_command, "list the runs, analyses and datasets of an archive"}},
      {"tokenize", {mechlens::cli::tokenize_command, "show the token ids and strings a model sees for a prompt"}},
      {"new-plugin", {mechlens::cli::new_plugin_command, "write a ready folder for a new analysis plugin"}},
      {"verify", {mechlens::cli::verify_command, "read a whole archive and report damage (exit 1 if any)"}},
      {"report", {mechlens::cli::report_command, "write one offline HTML page of an archive's runs, drawn from the archive"}},
      {"merge", {mechlens::cli::merge_command, "join the archives of `run --shard I/N` into one run"}},
      {"slurm", {mechlens::cli::slurm_command, "write (and --submit) a Slurm array job of shards and its merge job"}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: mechlens <command> [options]\n\ncommands:\n";
  std::size_t width = 0;
  for (const auto& entry : commands()) width = std::max(width, entry.first.size());
  for (const auto& [name, command] : commands()) {
    out << "  " << name << std::string(width + 2 - name.size(), ' ') << command.summary << "\n";
  }
  out << "\n'mechlens <command> --help' shows a command's options; 'mechlens --version' the version.\n";
}

// The message is printed once, on one line (a script can grep for it).
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  mechlens::host::keep_freed_memory_for_reuse();  // activations reuse freed memory, no page faults (issue 14)
  const Args all(argv + 1, argv + argc);
  std::string hint = "mechlens --help";
  try {
    if (all.empty()) {
      print_usage(std::cerr);
      return 2;
    }
    const std::string& first = all[0];
    if (first == "-h" || first == "--help") {
      print_usage(std::cout);
      return 0;
    }
    if (first == "--version" || first == "-V") {
      std::cout << "mechlens " << mechlens::kVersion << " (plugin ABI " << mechlens::kPluginAbiVersion << ")\n";
      return 0;
    }
    Args rest(all.begin() + 1, all.end());
    std::string name = first;
    if (name == "help") {  // `mechlens help run` = `mechlens run --help`
      if (rest.empty()) {
        print_usage(std::cout);
        return 0;
      }
      name = rest[0];
      rest = {"--help"};
    }
    auto it = commands().find(name);
    if (it == commands().end()) {
      std::string known;
      for (const auto& entry : commands()) known += (known.empty() ? "" : ", ") + entry.first;
      throw mechlens::cli::UsageError(
          (name.rfind("-", 0) == 0 ? "unknown option '" : "unknown command '") + name + "' (commands: " + known + ")");
    }
    hint = "mechlens " + name + " --help";
    return it->second.main(rest);
  } catch (const mechlens::cli::UsageError& e) {
    std::cerr << "mechlens: error: " << one_line(e.what()) << " (see '" << hint << "')\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mechlens: error: " << one_line(e.what()) << "\n";
    return 1;
  }
}
