// The host marks an input's object tokens (seed 004) from its annotation by
// overlap with each image token's patch rectangle in the original image
// (TokenAnnotation::x0..y1): a box and a mask of the same rectangle mark the
// same tokens; touching edges do not overlap (IoU > 0); mismatched masks,
// empty masks and boxes outside every patch are errors naming the input.
// Masks are drawn by PIL, not by our code.
#include <gtest/gtest.h>

#include "host/object_tokens.hpp"
#include "host_test_support.hpp"
#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace {

using namespace mechlens;
using namespace mechlens::testing;

// A 32 x 16 image as two rows of four 8 px patches (positions 1..8), a
// separator (9) and text around.
EncodedInput make_input(const std::string& image) {
  EncodedInput in;
  in.spec.id = "shapes/one";
  in.spec.image = image;
  in.annotations.push_back({Modality::text});
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) {
      TokenAnnotation a{Modality::image, 0, r, c};
      a.x0 = float(8 * c), a.x1 = float(8 * c + 8), a.y0 = float(8 * r), a.y1 = float(8 * r + 8);
      in.annotations.push_back(a);
    }
  in.annotations.push_back({Modality::image, 0, 1, 4, true});
  in.annotations.push_back({Modality::text});
  in.ids.assign(in.annotations.size(), 1);
  return in;
}

std::vector<int> marked(const EncodedInput& in) {
  std::vector<int> out;
  for (std::size_t i = 0; i < in.annotations.size(); ++i)
    if (in.annotations[i].object) out.push_back(static_cast<int>(i));
  return out;
}

// PIL: a black w x h image with the rectangle [x0, x1) x [y0, y1) white.
void draw(const std::string& path, int w, int h, int x0, int y0, int x1, int y1) {
  const auto r = run_command("/usr/bin/python3 -c " +
                             shell_quote("import sys; from PIL import Image, ImageDraw; a = [int(x) for x in sys.argv[2:]]; "
                                         "im = Image.new('L', (a[0], a[1]), 0); "
                                         "a[4] > a[2] and ImageDraw.Draw(im).rectangle((a[2], a[3], a[4] - 1, a[5] - 1), fill=255); "
                                         "im.save(sys.argv[1])") +
                             " " + shell_quote(path) + " " + std::to_string(w) + " " + std::to_string(h) + " " +
                             std::to_string(x0) + " " + std::to_string(y0) + " " + std::to_string(x1) + " " + std::to_string(y1));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(ObjectTokens, ABoxMarksThePatchesItOverlaps) {
  EncodedInput in = make_input("unused.png");
  in.spec.object_box = std::array<double, 4>{10, 4, 17, 8};  // x 10..17 → cols 1, 2; y 4..8 → row 0 only (8 is an edge)
  host::mark_object_tokens(in);
  EXPECT_EQ(marked(in), (std::vector<int>{2, 3}));
  EncodedInput none = make_input("unused.png");
  host::mark_object_tokens(none);  // no annotation: nothing marked, no error
  EXPECT_TRUE(marked(none).empty());
}

TEST(ObjectTokens, AMaskMarksWhatTheSameBoxMarks) {
  MECHLENS_REQUIRE_PYTHON("PIL");
  ScratchDir dir;
  draw(dir / "image.png", 32, 16, 0, 0, 0, 0);
  draw(dir / "mask.png", 32, 16, 10, 4, 17, 9);
  EncodedInput by_mask = make_input(dir / "image.png"), by_box = make_input(dir / "image.png");
  by_mask.spec.object_mask = dir / "mask.png";
  by_box.spec.object_box = std::array<double, 4>{10, 4, 17, 9};
  host::mark_object_tokens(by_mask);
  host::mark_object_tokens(by_box);
  EXPECT_EQ(marked(by_mask), (std::vector<int>{2, 3, 6, 7}));
  EXPECT_EQ(marked(by_mask), marked(by_box));
}

TEST(ObjectTokens, BadAnnotationsAreRefusedByName) {
  MECHLENS_REQUIRE_PYTHON("PIL");
  ScratchDir dir;
  draw(dir / "image.png", 32, 16, 0, 0, 0, 0);
  draw(dir / "small.png", 16, 16, 0, 0, 4, 4);
  draw(dir / "empty.png", 32, 16, 0, 0, 0, 0);
  auto message = [&](EncodedInput in) {
    try {
      host::mark_object_tokens(in);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EncodedInput a = make_input(dir / "image.png");
  a.spec.object_mask = dir / "small.png";
  EXPECT_NE(message(a).find("16x16"), std::string::npos) << message(a);
  EncodedInput b = make_input(dir / "image.png");
  b.spec.object_mask = dir / "empty.png";
  EXPECT_NE(message(b).find("no non-zero pixel"), std::string::npos) << message(b);
  EncodedInput c = make_input(dir / "image.png");
  c.spec.object_box = std::array<double, 4>{40, 0, 50, 5};
  EXPECT_NE(message(c).find("overlaps no image patch"), std::string::npos) << message(c);
  EncodedInput d = make_input(dir / "image.png");
  for (auto& t : d.annotations) t.x0 = t.x1 = 0;
  d.spec.object_box = std::array<double, 4>{0, 0, 5, 5};
  EXPECT_NE(message(d).find("shapes/one"), std::string::npos) << message(d);
}

}  // namespace
