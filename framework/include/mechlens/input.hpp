#pragma once
// What a recipe's [[inputs]] entry says, before any tokenisation.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mechlens {

struct InputSpec {
  std::string id;                    // stable name, e.g. "input_0" or the recipe's id
  std::string text;                  // the prompt (BERT: may contain [MASK])
  std::optional<std::string> image;  // absolute path of an image, if any
  std::string expected;              // expected answer, may be empty
  std::vector<std::string> tags;
  // The recipe's answer_position: the token the analyses read the prediction
  // at; negative counts from the end (-1 = the last token). Absent = the
  // adapter's choice (BERT: the one [MASK]; decoders: the last token).
  std::optional<std::int64_t> answer_position;
  // Where the object asked about is in the image (seed 004's object tokens):
  // a box [x0, y0, x1, y1] in the original image's pixels (x1, y1 exclusive
  // edges), or a mask image of the same size (absolute path; non-zero = object).
  std::optional<std::array<double, 4>> object_box;
  std::optional<std::string> object_mask;
};

enum class Modality : unsigned char { text = 0, image = 1, special = 2 };
const char* to_string(Modality m);

// One per token position: what the model sees there.
struct TokenAnnotation {
  Modality modality = Modality::text;
  int crop = -1;  // image tokens: 0 = base image, 1.. = high-res tiles; -1 otherwise
  int row = -1;   // image tokens: (row, col) in that crop's patch grid
  int col = -1;
  // An image token that carries no patch but marks the grid's layout
  // (LLaVA-OneVision's image_newline after each row of the high-res grid, at
  // col = the grid's width; Phi-4-mm's separators).
  bool separator = false;
  // Image tokens with a patch: the rectangle of the ORIGINAL image this
  // token's patch sees, in pixels, after undoing the processor's resize, pad
  // and the adapter's unpad (x1, y1 exclusive; empty, x1 <= x0, when the patch
  // lies in padding or the token has no patch). Lets the host map an object
  // annotation onto every crop the same way.
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  // Set by the host from the input's object annotation: the patch overlaps
  // the object (IoU > 0).
  bool object = false;
};

}  // namespace mechlens
