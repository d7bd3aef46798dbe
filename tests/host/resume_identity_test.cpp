// --resume continues only the same work (issue 9, items 1 and 7): a changed
// recipe, other inputs or another checkpoint are refused with what differs,
// before the `.partial` is touched; a run killed between being marked
// complete and its rename is moved into place by --resume.
#include <gtest/gtest.h>

#include <filesystem>

#include "run_support.hpp"
#include "tiny_bert.hpp"
#include "python_requirement.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mechlens::testing;

class ResumeIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py");
    recipe_ = write_good_recipe(dir_);
    out_ = dir_ / "out.h5";
  }
  // A run of `good` that failed after writing: out.h5.partial holds it.
  void interrupted_run() {
    const ScopedEnv fail("MECHLENS_TEST_FAIL", "good");
    EXPECT_THROW(run_in_process(recipe_, out_, log_), mechlens::Error);
    ASSERT_TRUE(fs::exists(out_ + ".partial"));
    partial_before_ = read_file(out_ + ".partial");
  }
  std::string refused_resume(const std::vector<std::string>& overrides = {}) {
    const std::string msg = error_message([&] { run_in_process(recipe_, out_, log_, overrides, true); });
    EXPECT_NE(msg.find(out_ + ".partial"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cannot resume run_0001"), std::string::npos) << msg;
    EXPECT_EQ(read_file(out_ + ".partial"), partial_before_) << "a refused resume changed the .partial";
    EXPECT_FALSE(fs::exists(out_));
    return msg;
  }

  ScratchDir dir_;
  SilentLog log_;
  std::string recipe_, out_, partial_before_;
};

TEST_F(ResumeIdentity, ChangedParameterIsRefusedNamingTheLine) {
  interrupted_run();
  const std::string msg = refused_resume({"analysis.0.scale=0.75"});
  EXPECT_NE(msg.find("`scale = 0.75` here, `scale = 0.5` in the unfinished run"), std::string::npos) << msg;
  // The same recipe resumes and completes.
  const auto result = run_in_process(recipe_, out_, log_, {}, true);
  EXPECT_EQ(result.run_name, "run_0001");
  EXPECT_FALSE(fs::exists(out_ + ".partial"));
}

TEST_F(ResumeIdentity, ChangedPromptIsRefused) {
  interrupted_run();
  const std::string msg = refused_resume({"inputs.first.text=the dog sat on the [MASK] ."});
  EXPECT_NE(msg.find("the dog sat on the [MASK]"), std::string::npos) << msg;
}

TEST_F(ResumeIdentity, OtherInputsAreRefusedNamingThem) {
  interrupted_run();
  std::string text = read_file(recipe_);
  text.replace(text.find("id = \"second\""), 13, "id = \"other\"");
  write_file(recipe_, text);
  const std::string msg = refused_resume();
  EXPECT_NE(msg.find("input 1 is 'other' here, 'second' in the unfinished run"), std::string::npos) << msg;
}

TEST_F(ResumeIdentity, AnotherCheckpointIsRefused) {
  interrupted_run();
  // Same shapes and config, other weights: only the tensor bytes differ...
  // which the header hash does not see; change the config's epsilon instead
  // (config.json's hash) as a retrained or re-exported checkpoint would.
  mechlens::tiny::TinyBertOptions options;
  options.layers = 2;
  options.heads = 2;
  options.seed = 3;
  options.layer_norm_eps = 1e-5;
  mechlens::tiny::write_tiny_bert(dir_ / "tiny-bert", options);
  const std::string msg = refused_resume();
  EXPECT_NE(msg.find("the checkpoint differs (config_sha256"), std::string::npos) << msg;
}

TEST_F(ResumeIdentity, WeightsSwappedUnderIdenticalHeadersAreRefused) {
  interrupted_run();
  // Another seed: same config.json, byte-identical safetensors header, other
  // weights (as a fine-tune copied over the original would be).
  const auto header = [&] {
    const std::string bytes = read_file(dir_ / "tiny-bert/model.safetensors");
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[i]);
    return bytes.substr(0, 8 + length);
  };
  const std::string config_before = read_file(dir_ / "tiny-bert/config.json"), header_before = header();
  mechlens::tiny::TinyBertOptions options;
  options.layers = 2;
  options.heads = 2;
  options.seed = 4;
  mechlens::tiny::write_tiny_bert(dir_ / "tiny-bert", options);
  ASSERT_EQ(read_file(dir_ / "tiny-bert/config.json"), config_before);
  ASSERT_EQ(header(), header_before);
  const std::string msg = refused_resume();
  EXPECT_NE(msg.find("the checkpoint differs (tensors_sha256"), std::string::npos) << msg;
}

TEST_F(ResumeIdentity, RunKilledBeforeItsRenameIsMovedIntoPlace) {
  // First run of an archive: the process died after the run was marked
  // complete and the file closed, before `.partial` was renamed.
  run_in_process(recipe_, out_, log_);
  fs::rename(out_, out_ + ".partial");
  const std::string plain = error_message([&] { run_in_process(recipe_, out_, log_); });
  EXPECT_NE(plain.find("--resume"), std::string::npos) << plain;
  const auto result = run_in_process(recipe_, out_, log_, {}, true);
  EXPECT_EQ(result.run_name, "run_0001");
  EXPECT_EQ(result.archive, out_);
  EXPECT_FALSE(fs::exists(out_ + ".partial"));
  const nlohmann::json a = read_archive_json(out_);
  EXPECT_EQ(a.at("/runs/run_0001")["attrs"]["status"], "complete");
  EXPECT_EQ(a.at("/runs/run_0001/analyses/good/values")["values"], nlohmann::json::array({0.5, 1.0, 1.5}));
}

TEST_F(ResumeIdentity, AppendedRunKilledBeforeItsRenameIsMovedIntoPlace) {
  run_in_process(recipe_, out_, log_);
  const std::string first = read_file(out_);
  run_in_process(recipe_, out_, log_);
  // The second run complete in `.partial`, the archive still as after the first.
  fs::rename(out_, out_ + ".partial");
  write_file(out_, first);
  const auto result = run_in_process(recipe_, out_, log_, {}, true);
  EXPECT_EQ(result.run_name, "run_0002");
  EXPECT_FALSE(fs::exists(out_ + ".partial"));
  const nlohmann::json a = read_archive_json(out_);
  EXPECT_EQ(a.at("/runs/run_0002")["attrs"]["status"], "complete");
  EXPECT_TRUE(a.contains("/runs/run_0001/analyses/good/values"));
}

TEST_F(ResumeIdentity, UnreadablePartialIsRemovedByResume) {
  // Killed while HDF5 was writing: the `.partial` ends mid-structure. Every
  // --resume used to fail the same way; now the first removes it, saying so.
  interrupted_run();
  const std::string partial = read_file(out_ + ".partial");
  write_file(out_ + ".partial", partial.substr(0, partial.size() / 3));
  const std::string msg = error_message([&] { run_in_process(recipe_, out_, log_, {}, true); });
  EXPECT_NE(msg.find("nothing to resume"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the file was removed, run again without --resume"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(out_ + ".partial"));
  EXPECT_EQ(run_in_process(recipe_, out_, log_).run_name, "run_0001");
}

TEST_F(ResumeIdentity, PartialWithNothingNewIsNotResumed) {
  // Killed right after copying the archive, before the new run was created:
  // the `.partial` holds only runs the archive has. Nothing to resume.
  run_in_process(recipe_, out_, log_);
  fs::copy_file(out_, out_ + ".partial");
  const std::string msg = error_message([&] { run_in_process(recipe_, out_, log_, {}, true); });
  EXPECT_NE(msg.find("nothing to resume"), std::string::npos) << msg;
}

}  // namespace
