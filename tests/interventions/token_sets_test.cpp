// Named token sets (mechlens/token_sets.hpp) on a hand-made input: a 4 x 4
// base crop and a 2 x 3 grid with its newline column, the object on two
// cells of each crop.
#include <gtest/gtest.h>

#include "mechlens/token_sets.hpp"

namespace mechlens {
namespace {

// Positions: 0 special, 1 text, 2..17 base (row-major 4 x 4), 18..25 grid
// (2 rows of 3 cells + newline), 26 text, 27 special (the answer position).
EncodedInput make_input() {
  EncodedInput in;
  in.spec.id = "hand";
  in.annotations.push_back({Modality::special});
  in.annotations.push_back({Modality::text});
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) in.annotations.push_back({Modality::image, 0, r, c});
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c <= 3; ++c) in.annotations.push_back({Modality::image, 1, r, c, c == 3});
  in.annotations.push_back({Modality::text});
  in.annotations.push_back({Modality::special});
  in.ids.assign(in.annotations.size(), 7);
  in.answer_position = 27;
  for (int p : {2 + 5, 2 + 6, 18 + 0, 18 + 4}) in.annotations[p].object = true;  // base (1,1), (1,2); grid (0,0), (1,0)
  return in;
}

std::vector<std::int64_t> set(const EncodedInput& in, const std::string& spec, TokenSetOptions o = {}) {
  return token_set(in, spec, o, "test");
}

TEST(TokenSets, ObjectAndItsBufferStayInsideEachCrop) {
  const EncodedInput in = make_input();
  EXPECT_EQ(set(in, "object"), (std::vector<std::int64_t>{7, 8, 18, 22}));
  // +1: base rows 0..2, cols 0..3 (12 cells); grid rows 0..1, cols 0..1 (4 cells), never the newline.
  const auto b1 = set(in, "object+1");
  EXPECT_EQ(b1.size(), 16u);
  for (std::int64_t p : b1) EXPECT_FALSE(in.annotations[p].separator);
  EXPECT_EQ(std::count_if(b1.begin(), b1.end(), [&](std::int64_t p) { return in.annotations[p].crop == 1; }), 4);
  EXPECT_EQ(set(in, "object+2").size(), 16u + 6u);  // base all 16, grid all 6 cells
}

TEST(TokenSets, ImageMinusObjectAndTheNamedPositions) {
  const EncodedInput in = make_input();
  EXPECT_EQ(set(in, "image").size(), 24u);
  EXPECT_EQ(set(in, "image_minus_object").size(), 20u);
  EXPECT_EQ(set(in, "image_minus_object+1").size(), 24u - 16u);
  EXPECT_EQ(set(in, "last"), (std::vector<std::int64_t>{27}));
  EXPECT_EQ(set(in, "text"), (std::vector<std::int64_t>{1, 26}));
  // Last row of each crop: base row 3 (14..17), grid row 1 with its newline (22..25).
  EXPECT_EQ(set(in, "last_image_row"), (std::vector<std::int64_t>{14, 15, 16, 17, 22, 23, 24, 25}));
  EXPECT_EQ(set(in, "3,-1,3"), (std::vector<std::int64_t>{3, 27}));
  EXPECT_THROW(set(in, "28"), std::exception);
  EXPECT_THROW(check_token_set_spec("objects", "test"), std::exception);
  EXPECT_THROW(check_token_set_spec("last+1", "test"), std::exception);
}

TEST(TokenSets, RandomDrawsAreSeededOffTheObjectAndSizedLikeIt) {
  const EncodedInput in = make_input();
  TokenSetOptions o;
  o.seed = 3;
  const auto a = set(in, "random", o);
  EXPECT_EQ(a.size(), 4u);
  for (std::int64_t p : a) EXPECT_TRUE(in.annotations[p].modality == Modality::image && !in.annotations[p].separator && !in.annotations[p].object);
  EXPECT_EQ(set(in, "random", o), a);  // the same seed and draw: the same set
  bool differs = false;
  for (int d = 1; d < 6; ++d) {
    o.draw = d;
    differs |= set(in, "random", o) != a;
  }
  EXPECT_TRUE(differs);
  o.count = 100;
  EXPECT_EQ(set(in, "random", o).size(), 18u);  // capped: 22 patches minus 4 object
  EXPECT_EQ(set(in, "random+1", TokenSetOptions{}).size(), 16u - 10u) << "as many as object+1 (16), capped at the 6 patches outside it";
}

TEST(TokenSets, RegisterTokensHaveOutlyingNorms) {
  const EncodedInput in = make_input();
  TokenSetOptions o;
  o.input_norms.assign(in.annotations.size(), 1.0f);
  o.input_norms[9] = 30.0f;  // one outlier among the patches
  o.input_norms[20] = 2.0f;  // grid (0, 2)
  o.input_norms[21] = 90.0f;  // the newline after it: not a patch
  o.input_norms[0] = 500.0f;  // a special token: not a candidate
  EXPECT_EQ(set(in, "register", o), (std::vector<std::int64_t>{9}));
  o.count = 2;
  EXPECT_EQ(set(in, "register", o), (std::vector<std::int64_t>{9, 20}));
  EXPECT_THROW(set(in, "register"), std::exception);  // no norms given
}

TEST(TokenSets, ObjectSetsNeedAnAnnotation) {
  EncodedInput in = make_input();
  for (auto& a : in.annotations) a.object = false;
  EXPECT_THROW(set(in, "object"), std::exception);
  EXPECT_THROW(set(in, "image_minus_object"), std::exception);
  TokenSetOptions o;
  o.count = 5;
  EXPECT_EQ(set(in, "random", o).size(), 5u);  // with a count, random needs no object
}

}  // namespace
}  // namespace mechlens
