#pragma once
// Named sets of token positions of one encoded input (seed 004; shared by
// knockout_windows, visual_token_ablation and later AtMan). A spec is
//
//   object[+B]              image patch tokens overlapping the input's object
//                           annotation (TokenAnnotation::object), dilated by B
//                           8-neighbour patches inside each crop's grid (B >= 0)
//   image                   every image token (newline separators included)
//   image_minus_object[+B]  image minus object[+B]
//   random[+B]              as many tokens as object[+B] (or options.count),
//                           drawn from the image PATCH tokens outside object[+B]
//                           (separators never), seeded by (seed, draw, input id)
//   register                image patch tokens whose language-model input norm
//                           exceeds mean + 2 sigma over the image's patch tokens
//                           (with options.count: the count highest-norm ones)
//   last                    the answer position (the token that predicts)
//   last_image_row          every token of the last row of each crop's grid
//   text                    the prompt's text tokens
//   3 | -1 | 2,5,9          explicit positions (negative from the end)
//
// options.count = N (the N sweep of visual_token_ablation) applies to
// object (a seeded random N of the object tokens), random and register; the
// set is capped at what the input has. Positions come back sorted, unique.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens {

struct TokenSetOptions {
  std::uint64_t seed = 0;              // the experiment's seed
  int draw = 0;                        // which random draw (0, 1, ...)
  std::optional<std::int64_t> count;   // N (object, random, register)
  // ||row|| of the language model's input per position (hook_inputs_embeds);
  // needed by "register" only.
  std::vector<float> input_norms;
};

// The names besides explicit positions.
const std::vector<std::string>& token_set_names();

// Checks a spec's spelling without an input (for early errors).
void check_token_set_spec(const std::string& spec, const std::string& where);

// True for specs whose members depend on the draw (random, object with a count).
bool token_set_is_random(const std::string& spec);
// True for specs that need options.input_norms.
bool token_set_needs_norms(const std::string& spec);
// True for specs options.count applies to (object, random, register).
bool token_set_takes_count(const std::string& spec);

// Errors name `where`, the input and the spec (an object set on an input
// without an object annotation, an index outside the input, ...).
std::vector<std::int64_t> token_set(const EncodedInput& input, const std::string& spec, const TokenSetOptions& options,
                                    const std::string& where);

}  // namespace mechlens
