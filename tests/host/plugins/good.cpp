// Test plugin `good`: declares one parameter of each kind the tests need and
// writes a dataset derived from them and from the inputs it was given.
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"

namespace {

using namespace mechlens;

class Good : public Analysis {
 public:
  static PluginInfo describe() {
    return {"good", "2.3.4", "Test plugin: writes scale * (1..steps) and the inputs' lengths",
            {
                param::required("label", ParamType::string, "Free text copied to the findings"),
                param::integer("steps", 3, "How many values to write").at_least(1).at_most(10),
                param::real("scale", 1.0, "Multiplies every value").at_least(0),
                param::string("mode", "sum", "How the finding summarises the values").choices({"sum", "mean"}),
                param::boolean("fail", false, "Throw after writing (tests the host's failure handling)"),
            }};
  }

  void run(RunContext& ctx) override {
    const auto steps = ctx.params.get<std::int64_t>("steps");
    const double scale = ctx.params.get<double>("scale");
    std::vector<double> values;
    for (std::int64_t i = 1; i <= steps; ++i) values.push_back(scale * static_cast<double>(i));
    ctx.results.write("values", {ElementType::f64, {steps}, values.data()}, {"step"});

    std::vector<std::int64_t> lengths;
    for (const EncodedInput& input : ctx.inputs) lengths.push_back(static_cast<std::int64_t>(input.ids.size()));
    ctx.results.write("n_tokens", {ElementType::i64, {static_cast<std::int64_t>(lengths.size())}, lengths.data()},
                      {"input"});
    ctx.progress.update("values", steps, steps);

    if (ctx.params.get<bool>("fail")) throw Error("asked to fail after writing");
    // The same failure without touching the recipe (a resume must see the
    // recipe the run started with): MECHLENS_TEST_FAIL names the analysis.
    const char* fail_env = std::getenv("MECHLENS_TEST_FAIL");
    const std::string path = ctx.results.path();
    if (fail_env && path.size() >= std::strlen(fail_env) &&
        path.compare(path.size() - std::strlen(fail_env), std::string::npos, fail_env) == 0 &&
        path[path.size() - std::strlen(fail_env) - 1] == '/')
      throw Error("asked to fail after writing");

    double total = std::accumulate(values.begin(), values.end(), 0.0);
    if (ctx.params.get<std::string>("mode") == "mean") total /= static_cast<double>(values.size());
    ctx.findings.push_back(ctx.params.get<std::string>("label") + " " + ctx.params.get<std::string>("mode") + " = " +
                           std::to_string(total));
  }
};

}  // namespace

MECHLENS_PLUGIN(Good)
