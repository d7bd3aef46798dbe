#include "host/install_layout.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <filesystem>

// Set by framework/CMakeLists.txt (build tree) and cmake/MechlensInstall.cmake
// (install layout, relative to the installed library's folder).
#ifndef MECHLENS_BUILD_LIB_DIR
#define MECHLENS_BUILD_LIB_DIR ""
#endif
#ifndef MECHLENS_DEFAULT_PLUGIN_DIR
#define MECHLENS_DEFAULT_PLUGIN_DIR ""
#endif
#ifndef MECHLENS_SOURCE_TOY_MODELS_DIR
#define MECHLENS_SOURCE_TOY_MODELS_DIR ""
#endif
#ifndef MECHLENS_INSTALLED_PLUGIN_DIR_FROM_LIB
#define MECHLENS_INSTALLED_PLUGIN_DIR_FROM_LIB "mechlens/plugins"
#endif
#ifndef MECHLENS_INSTALLED_PREFIX_FROM_LIB
#define MECHLENS_INSTALLED_PREFIX_FROM_LIB ".."
#endif
#ifndef MECHLENS_INSTALLED_TOY_MODELS_DIR_FROM_LIB
#define MECHLENS_INSTALLED_TOY_MODELS_DIR_FROM_LIB "../share/mechlens/toy/models"
#endif

namespace fs = std::filesystem;

namespace mechlens::host {

namespace {

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code ec_a, ec_b;
  const fs::path ca = fs::weakly_canonical(a, ec_a), cb = fs::weakly_canonical(b, ec_b);
  return !ec_a && !ec_b && ca == cb;
}

InstallLayout find_layout() {
  InstallLayout layout;
  boost::dll::fs::error_code ec;
  // The module holding this function: libmechlens.so. (An executable that
  // linked the host's objects itself would count as installed.)
  const auto here = boost::dll::this_line_location(ec);
  if (ec) return layout;
  const fs::path library = here.string();
  const fs::path folder = library.parent_path();
  layout.library = library.string();
  const std::string build_lib = MECHLENS_BUILD_LIB_DIR;
  layout.build_tree = !build_lib.empty() && same_folder(folder, build_lib);
  if (layout.build_tree) {
    layout.plugin_dir = MECHLENS_DEFAULT_PLUGIN_DIR;
    layout.toy_models_dir = MECHLENS_SOURCE_TOY_MODELS_DIR;
  } else {
    layout.prefix = (folder / MECHLENS_INSTALLED_PREFIX_FROM_LIB).lexically_normal().string();
    if (layout.prefix.size() > 1 && layout.prefix.back() == '/') layout.prefix.pop_back();
    layout.plugin_dir = (folder / MECHLENS_INSTALLED_PLUGIN_DIR_FROM_LIB).lexically_normal().string();
    layout.toy_models_dir = (folder / MECHLENS_INSTALLED_TOY_MODELS_DIR_FROM_LIB).lexically_normal().string();
  }
  return layout;
}

}  // namespace

const InstallLayout& install_layout() {
  static const InstallLayout layout = find_layout();
  return layout;
}

}  // namespace mechlens::host
