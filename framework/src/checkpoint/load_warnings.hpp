#pragma once
// Problems a load survives but the user should hear about (bytes after the
// last tensor's data, ...). The checkpoint layer has no logger: it collects
// them here and whoever loaded the model (the host, `mechlens tokenize`)
// prints them once the load returns.
#include <string>
#include <vector>

namespace mechlens::checkpoint {

void add_load_warning(std::string message);
// Every warning since the last call, oldest first; clears them.
std::vector<std::string> take_load_warnings();

}  // namespace mechlens::checkpoint
