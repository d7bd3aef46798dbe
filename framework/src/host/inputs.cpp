#include "host/inputs.hpp"

#include "host/object_tokens.hpp"
#include "mechlens/error.hpp"

namespace mechlens::host {

namespace {

// BERT is a masked language model: its prediction is the word at a [MASK].
// Without one the adapter falls back to the final [SEP], which predicts no
// word; with two it would silently pick the first.
bool predicts_at_mask(const Model& model) { return model.family() == "bert"; }

std::vector<std::int64_t> mask_positions(const EncodedInput& input) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < input.tokens.size(); ++i)
    if (input.tokens[i] == "[MASK]") out.push_back(static_cast<std::int64_t>(i));
  return out;
}

std::string positions_text(const std::vector<std::int64_t>& positions) {
  std::string out;
  for (std::size_t i = 0; i < positions.size(); ++i) out += (i ? ", " : "") + std::to_string(positions[i]);
  return out;
}

void choose_answer_position(const Model& model, EncodedInput& input) {
  const auto n = static_cast<std::int64_t>(input.ids.size());
  if (const auto& chosen = input.spec.answer_position) {
    const std::int64_t p = *chosen < 0 ? n + *chosen : *chosen;
    if (p < 0 || p >= n)
      fail("", "answer_position = " + std::to_string(*chosen) + " is outside the " + std::to_string(n) +
                   " tokens of this input (negative counts from the end; `mechlens tokenize` shows the tokens)");
    input.answer_position = p;
    return;
  }
  if (predicts_at_mask(model)) {
    const std::vector<std::int64_t> masks = mask_positions(input);
    if (masks.empty())
      fail("", "no [MASK] in the text: " + model.family() +
                   " predicts the word at a [MASK]; add one, or choose the position with answer_position (-1 = the "
                   "last token, e.g. when the analyses read attention rather than a prediction)");
    if (masks.size() > 1)
      fail("", std::to_string(masks.size()) + " [MASK] tokens (positions " + positions_text(masks) +
                   "): keep one, or choose with answer_position which one the analyses read");
    input.answer_position = masks.front();
  }
  if (input.answer_position < 0 || input.answer_position >= n)
    fail("", "the adapter chose no answer position (" + std::to_string(input.answer_position) +
                 "); set answer_position");
}

}  // namespace

std::vector<EncodedInput> encode_inputs(const Model& model, const std::vector<InputSpec>& specs) {
  std::vector<EncodedInput> inputs;
  inputs.reserve(specs.size());
  for (const InputSpec& spec : specs) {
    try {
      if (!spec.image && spec.text.find_first_not_of(" \t\r\n") == std::string::npos)
        fail("", "the text is empty and there is no image: nothing to analyse");
      EncodedInput input = model.encode(spec);
      if (input.ids.empty()) fail("", "gives no tokens: nothing to analyse");
      choose_answer_position(model, input);
      mark_object_tokens(input);
      inputs.push_back(std::move(input));
    } catch (const std::exception& e) {
      fail("input '" + spec.id + "'", e.what());
    }
  }
  return inputs;
}

std::string answer_position_source(const Model& model, const EncodedInput& input) {
  if (input.spec.answer_position) return "recipe answer_position = " + std::to_string(*input.spec.answer_position);
  return predicts_at_mask(model) ? "the [MASK] token" : "the last token";
}

}  // namespace mechlens::host
