#pragma once
// The recipe's inputs as the model sees them, each with an answer position
// that was chosen on purpose: a BERT prompt without a [MASK] (or with two) is
// an error unless the recipe says where to read the answer, and an input that
// gives no tokens at all is refused by name rather than crashing in a forward.
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens::host {

// Errors name the input ("input 'x': ...").
std::vector<EncodedInput> encode_inputs(const Model& model, const std::vector<InputSpec>& specs);

// How `input`'s answer position was chosen, stored beside it in inputs/:
// "recipe answer_position = -2", "the [MASK] token", "the last token".
std::string answer_position_source(const Model& model, const EncodedInput& input);

}  // namespace mechlens::host
