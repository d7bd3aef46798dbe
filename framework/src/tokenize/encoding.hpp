#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mechlens::tokenize {

// Token ids with the vocabulary's spelling of each token.
struct Encoding {
  std::vector<std::int64_t> ids;
  std::vector<std::string> tokens;
};

}  // namespace mechlens::tokenize
