// Object annotations on inputs (seed 004): object_box / object_mask on one
// input, and an image folder's sidecar annotation file (JSON Lines or a JSON
// array: file, box or mask, expected). Errors name the file, line and key.
#include <gtest/gtest.h>

#include "recipe/recipe.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;

std::string with_inputs(const std::string& inputs) {
  return "[experiment]\nname = \"demo\"\n\n[model]\nadapter = \"llava_onevision\"\npath = \"m\"\n\n" + inputs +
         "\n[[analysis]]\nplugin = \"p\"\n";
}

TEST(ObjectAnnotations, OneInputTakesABoxOrAMask) {
  TempDir dir;
  dir.write("a.png", "x");
  dir.write("mask.png", "x");
  const auto r = mechlens::recipe::load(dir.write("r.toml", with_inputs(
      "[[inputs]]\nimage = \"a.png\"\ntext = \"q\"\nobject_box = [1, 2.5, 30, 40]\n\n"
      "[[inputs]]\nimage = \"a.png\"\ntext = \"q\"\nobject_mask = \"mask.png\"\n")));
  ASSERT_EQ(r.inputs.size(), 2u);
  ASSERT_TRUE(r.inputs[0].object_box.has_value());
  EXPECT_EQ(*r.inputs[0].object_box, (std::array<double, 4>{1, 2.5, 30, 40}));
  EXPECT_FALSE(r.inputs[0].object_mask.has_value());
  EXPECT_EQ(*r.inputs[1].object_mask, (dir.path() / "mask.png").string());
}

TEST(ObjectAnnotations, BadBoxesAndMissingImagesAreNamed) {
  TempDir dir;
  dir.write("a.png", "x");
  auto fails_with = [&](const std::string& input, const std::vector<std::string>& parts) {
    const std::string file = dir.write("r.toml", with_inputs(input));
    expect_names(error_of([&] { mechlens::recipe::load(file); }), parts);
  };
  fails_with("[[inputs]]\nimage = \"a.png\"\ntext = \"q\"\nobject_box = [1, 2, 3]\n", {"object_box", "4 numbers"});
  fails_with("[[inputs]]\nimage = \"a.png\"\ntext = \"q\"\nobject_box = [10, 2, 3, 40]\n", {"object_box", "x0 < x1"});
  fails_with("[[inputs]]\ntext = \"q\"\nobject_box = [1, 2, 3, 4]\n", {"object_box", "needs the input's `image`"});
  fails_with("[[inputs]]\nimage = \"a.png\"\ntext = \"q\"\nobject_mask = \"nope.png\"\n", {"object_mask"});
}

TEST(ObjectAnnotations, AnImageFolderReadsItsSidecar) {
  TempDir dir;
  dir.write("imgs/a.png", "x");
  dir.write("imgs/b.png", "x");
  dir.write("imgs/c.png", "x");
  dir.write("imgs/masks/b.png", "x");
  dir.write("imgs/objects.jsonl",
            "{\"file\": \"a.png\", \"box\": [0, 0, 8, 8], \"expected\": \"red\"}\n\n"
            "{\"file\": \"b.png\", \"mask\": \"masks/b.png\"}\n");
  const auto r = mechlens::recipe::load(dir.write("r.toml", with_inputs(
      "[[inputs]]\nimage_dir = \"imgs\"\ntext = \"q\"\nexpected = \"blue\"\nannotations = \"imgs/objects.jsonl\"\n")));
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(*r.inputs[0].object_box, (std::array<double, 4>{0, 0, 8, 8}));
  EXPECT_EQ(r.inputs[0].expected, "red");
  EXPECT_EQ(*r.inputs[1].object_mask, (dir.path() / "imgs/masks/b.png").string());
  EXPECT_EQ(r.inputs[1].expected, "blue");
  EXPECT_FALSE(r.inputs[2].object_box || r.inputs[2].object_mask);

  // A JSON array works the same.
  dir.write("imgs/objects.json", "[{\"file\": \"c.png\", \"box\": [1, 1, 2, 2]}]");
  const auto a = mechlens::recipe::load(dir.write("r2.toml", with_inputs(
      "[[inputs]]\nimage_dir = \"imgs\"\ntext = \"q\"\nannotations = \"imgs/objects.json\"\n")));
  EXPECT_TRUE(a.inputs[2].object_box.has_value());
}

TEST(ObjectAnnotations, SidecarErrorsNameFileLineAndImage) {
  TempDir dir;
  dir.write("imgs/a.png", "x");
  auto fails_with = [&](const std::string& sidecar, const std::vector<std::string>& parts) {
    const std::string path = dir.write("imgs/objects.jsonl", sidecar);
    const std::string file = dir.write("r.toml", with_inputs(
        "[[inputs]]\nimage_dir = \"imgs\"\ntext = \"q\"\nannotations = \"imgs/objects.jsonl\"\n"));
    expect_names(error_of([&] { mechlens::recipe::load(file); }), parts);
  };
  fails_with("{\"file\": \"a.png\", \"box\": [0, 0, 8]}\n", {"objects.jsonl:1", "a.png", "box"});
  fails_with("{\"file\": \"a.png\", \"box\": [0, 0, 8, 8]}\n{\"file\": \"zz.png\", \"box\": [0, 0, 8, 8]}\n",
             {"zz.png", "not an image in"});
  fails_with("{\"file\": \"a.png\"}\n{\"file\": \"a.png\"}\n", {"objects.jsonl:2", "twice"});
  fails_with("{\"file\": \"a.png\", \"boxx\": [0, 0, 8, 8]}\n", {"unknown key 'boxx'"});
  fails_with("not json\n", {"objects.jsonl:1", "not a JSON object"});
  fails_with("{\"file\": \"a.png\", \"mask\": \"none.png\"}\n", {"mask", "does not exist"});
}

}  // namespace
