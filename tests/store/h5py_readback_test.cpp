// The archive as an h5py user sees it: tests/store/read_archive.py opens a
// file written here, with h5py and no code of ours, and checks it.
#include <cmath>

#include "store/archive.hpp"
#include "store_test_support.hpp"
#include "subprocess.hpp"
#include "python_requirement.hpp"

namespace mechlens::store {
namespace {

using mechlens::testing::have_python_module;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

class H5pyReadback : public mechlens::testing::ScratchDir {};

TEST_F(H5pyReadback, H5pyReadsDimsScalesValuesAndStrings) {
  MECHLENS_REQUIRE_PYTHON("h5py");

  const std::string path = file("archive.h5");
  {
    auto run = open_run(path, false);
    run->set_attr("recipe", std::string("[model]\nadapter = \"bert\"  # ünïcode ✓\n"));
    run->set_attr("threads", std::int64_t{2});
    run->set_attr("seconds", 1.25);
    run->set_attr("layers", std::vector<std::int64_t>{0, 2});
    run->set_attr("weights", std::vector<double>{0.5, -1.5});
    run->set_attr("overrides", std::vector<std::string>{"a=1", "b=ü"});
    run->set_attr("no_tags", std::vector<std::string>{});

    auto input = run->group("inputs")->group("by_id")->group("input_0");
    const std::vector<std::int64_t> ids = {101, 7592, 102};
    const std::vector<std::uint8_t> modality = {2, 0, 2};
    input->write("ids", {ElementType::i64, {3}, ids.data()}, {"pos"});
    input->write("modality", {ElementType::u8, {3}, modality.data()}, {"pos"});

    auto a = run->analysis("sensitivity_matrix");
    std::vector<float> s;
    for (int i = 0; i < 2; ++i)
      for (int l = 0; l < 3; ++l)
        for (int h = 0; h < 4; ++h) s.push_back(static_cast<float>(i * 100 + l * 10 + h));
    const std::vector<std::int64_t> layer = {0, 1, 2}, head = {0, 1, 2, 3};
    a->write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});
    a->write("sensitivity", {ElementType::f32, {2, 3, 4}, s.data()}, {"input", "layer", "head"});
    a->write("head", {ElementType::i64, {4}, head.data()}, {"head"});
    a->write_strings("tokens", {"héllo", "世界", "🙂", "", "Ġthe"}, "pos");
    std::vector<double> big(600 * 1000);
    for (std::size_t k = 0; k < big.size(); ++k) big[k] = static_cast<double>(k % 997);
    a->write("big", {ElementType::f64, {600, 1000}, big.data()}, {"row", "col"});
    const double total = 0.75;
    a->write("total", {ElementType::f64, {}, &total}, {});
    a->mark_unit_done("input_0");
    a->mark_unit_done("input_1");
    run->finish();
  }
  open_run(path, false)->finish();  // run_0002, empty

  const auto result = run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) +
                                                                    "/tests/store/read_archive.py") +
                                  " " + shell_quote(path));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("\"runs\": [\"run_0001\", \"run_0002\"]"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace mechlens::store
