// mechlens new-plugin NAME [DIR]
//
// Writes a folder a researcher builds outside this repository against an
// installed mechlens. The files are the ones in framework/cli/new_plugin/,
// compiled into this binary, with the example's name replaced: the same
// files the guide (docs/writing-a-plugin.md) quotes and the suite compiles.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "commands.hpp"
#include "host/install_layout.hpp"
#include "mechlens/error.hpp"

namespace mechlens::embedded {  // cmake/EmbedFile.cmake, from framework/cli/new_plugin/
extern const char* const scaffold_attention_entropy_cpp;
extern const char* const scaffold_CMakeLists_txt_in;
extern const char* const scaffold_attention_entropy_toml_in;
extern const char* const scaffold_README_md_in;
}  // namespace mechlens::embedded

namespace fs = std::filesystem;

namespace mechlens::cli {

namespace {

// The example the templates are written for.
constexpr const char* kExampleName = "attention_entropy";
constexpr const char* kExampleClass = "AttentionEntropy";

// The name becomes a file name, a CMake target and (in CamelCase) a C++
// class, so it must suit all three.
void check_name(const std::string& name) {
  bool ok = !name.empty() && std::islower(static_cast<unsigned char>(name[0]));
  for (char c : name)
    ok = ok && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  if (!ok)
    throw UsageError("new-plugin: NAME '" + name + "' must be lower case letters, digits and '_', starting with a letter");
  static const std::set<std::string> reserved{"all", "clean", "help", "install", "package", "test", "depend"};
  if (reserved.count(name)) throw UsageError("new-plugin: NAME '" + name + "' is reserved by CMake");
}

std::string camel_case(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) fail(path.string(), "cannot write");
}

}  // namespace

int new_plugin_command(const Args& args) {
  po::options_description options = options_with_help();
  const Parsed p = parse(args, options, {"name", "dir"});
  if (p.help) {
    print_help("new-plugin NAME [DIR]",
               "Writes a ready plugin folder DIR (default: ./NAME): NAME.cpp (describe() and run()\n"
               "with a small working analysis: attention entropy per head), CMakeLists.txt\n"
               "(find_package(mechlens)), NAME.toml (a recipe on a toy model shipped with mechlens)\n"
               "and README.md. The guide: docs/writing-a-plugin.md.",
               options);
    return 0;
  }
  if (!p.values.count("name")) throw UsageError("new-plugin: missing NAME");
  const std::string name = p.values["name"].as<std::string>();
  check_name(name);
  const fs::path dir = p.values.count("dir") ? fs::path(p.values["dir"].as<std::string>()) : fs::path(name);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    fail(dir.string(), "exists and is not empty (new-plugin never overwrites files)");
  fs::create_directories(dir, ec);
  if (ec) fail(dir.string(), "cannot create folder: " + ec.message());

  const host::InstallLayout& layout = host::install_layout();
  auto fill = [&](const char* text) {
    std::string out = replace_all(text, kExampleName, name);
    out = replace_all(out, kExampleClass, camel_case(name));
    return replace_all(out, "@TOY_MODELS@", layout.toy_models_dir);
  };
  write_file(dir / (name + ".cpp"), fill(embedded::scaffold_attention_entropy_cpp));
  write_file(dir / "CMakeLists.txt", fill(embedded::scaffold_CMakeLists_txt_in));
  write_file(dir / (name + ".toml"), fill(embedded::scaffold_attention_entropy_toml_in));
  write_file(dir / "README.md", fill(embedded::scaffold_README_md_in));

  const std::string prefix = layout.build_tree ? std::string("<mechlens install prefix>") : layout.prefix;
  const std::string d = dir.string();
  std::cout << "wrote " << d << "/: " << name << ".cpp, CMakeLists.txt, " << name << ".toml, README.md\n"
            << "build and run it:\n"
            << "  cmake -S " << d << " -B " << d << "/build -DCMAKE_PREFIX_PATH=" << prefix << "\n"
            << "  cmake --build " << d << "/build\n"
            << "  MECHLENS_PLUGIN_PATH=" << d << "/build/plugins mechlens run " << d << "/" << name << ".toml\n";
  if (!fs::is_directory(layout.toy_models_dir, ec))
    std::cout << "note: the toy models are not at " << layout.toy_models_dir << "; edit [model] path in " << d
              << "/" << name << ".toml\n";
  return 0;
}

}  // namespace mechlens::cli
