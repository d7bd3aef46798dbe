#pragma once
// Where the host's own files are. The same binaries run from the build tree
// and from an installed prefix (`cmake --install build --prefix P`; the
// prefix may be moved afterwards), so nothing is looked up through a path
// fixed at compile time alone: the host asks where libmechlens.so itself was
// loaded from. In the build's lib/ folder it uses the build tree (plugins in
// <build>/plugins, toys in the source tree); anywhere else it is installed
// and everything is relative to the library:
//
//   P/lib/libmechlens.so
//   P/lib/mechlens/plugins/mechlens_plugin_*.so
//   P/share/mechlens/toy/models/<toy>/
#include <string>

namespace mechlens::host {

struct InstallLayout {
  bool build_tree = false;      // running from the build folder it was compiled in
  std::string library;          // the file libmechlens.so was loaded from
  std::string prefix;           // installed: the install prefix (empty in the build tree)
  std::string plugin_dir;       // the shipped plugins
  std::string toy_models_dir;   // the committed toy checkpoints (experiments/toy/models)
};

const InstallLayout& install_layout();

}  // namespace mechlens::host
