// An unknown hook name in activation_cache is named, with the closest hook
// point, in the one error line (issue 9, item 12); before, the error named
// only the key, and a typo next to a valid name silently cached less.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "subprocess.hpp"
#include "tiny_bert.hpp"

namespace {

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

TEST(ActivationCacheHookNames, UnknownHookIsNamedWithTheClosest) {
  const fs::path dir = fs::temp_directory_path() / ("mechlens-hook-names-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  mechlens::tiny::TinyBertOptions options;
  options.layers = 2;
  options.heads = 2;
  mechlens::tiny::write_tiny_bert((dir / "tiny-bert").string(), options);
  std::ofstream(dir / "recipe.toml") << R"([experiment]
name = "hooks"

[model]
adapter = "bert"
path = "tiny-bert"

[[inputs]]
text = "the cat sat on the [MASK] ."

[[analysis]]
plugin = "activation_cache"
hooks = ["blocks.0.hook_resid_pre", "blocks.0.attn.hook_qq"]
)";
  const auto r = run_command(shell_quote(mechlens::testing::mechlens_binary()) + " run " +
                             shell_quote((dir / "recipe.toml").string()) + " --out " + shell_quote((dir / "o.h5").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("mechlens: error: analysis 'activation_cache' (activation_cache): activation_cache: hooks: "
                          "'blocks.0.attn.hook_qq' matches no hook point of this model (did you mean "
                          "'blocks.0.attn.hook_q'?"),
            std::string::npos)
      << r.output;
  fs::remove_all(dir);
}

}  // namespace
