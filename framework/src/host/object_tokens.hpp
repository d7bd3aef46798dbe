#pragma once
// Marks an input's object tokens (TokenAnnotation::object) from its object
// annotation (InputSpec::object_box / object_mask): every image token whose
// patch rectangle in the original image (TokenAnnotation::x0..y1, set by the
// adapter through its own resize/pad/unpad) overlaps the object by a positive
// area (IoU > 0). A mask pixel (x, y) is the square [x, x+1) x [y, y+1).
#include "mechlens/model.hpp"

namespace mechlens::host {

// No-op without an annotation. Errors name the input: an annotation on an
// input without image tokens, an adapter that gives no patch rectangles, a
// mask whose size differs from the image's, an object that covers no patch.
void mark_object_tokens(EncodedInput& input);

}  // namespace mechlens::host
