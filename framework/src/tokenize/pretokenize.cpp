#include "tokenize/pretokenize.hpp"

#include <nlohmann/json.hpp>

#include "mechlens/error.hpp"

namespace mechlens::tokenize {
namespace {

// GPT-2's pattern, used by ByteLevel when `use_regex` is true
// (tokenizers, pre_tokenizers/byte_level.rs).
const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

PreTokenizer::Behavior behavior_of(const std::string& name, const std::string& where) {
  using B = PreTokenizer::Behavior;
  if (name == "Removed") return B::removed;
  if (name == "Isolated") return B::isolated;
  if (name == "MergedWithPrevious") return B::merged_with_previous;
  if (name == "MergedWithNext") return B::merged_with_next;
  if (name == "Contiguous") return B::contiguous;
  fail(where, "pre_tokenizer Split: unknown behavior '" + name + "'");
}

struct Span {
  std::size_t begin, end;
  bool match;
};

// tokenizers' SplitDelimiterBehavior, normalizer.rs `split`.
std::vector<Span> apply_behavior(const std::vector<Span>& spans, PreTokenizer::Behavior behavior) {
  using B = PreTokenizer::Behavior;
  std::vector<Span> out;
  bool previous_match = false;
  switch (behavior) {
    case B::isolated:
      return spans;
    case B::removed:
      for (const auto& s : spans)
        if (!s.match) out.push_back(s);
      return out;
    case B::merged_with_previous:
      for (const auto& s : spans) {
        if (s.match && !previous_match && !out.empty()) out.back().end = s.end;
        else out.push_back(s);
        previous_match = s.match;
      }
      return out;
    case B::merged_with_next:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previous_match && !out.empty()) out.back().begin = it->begin;
        else out.push_back(*it);
        previous_match = it->match;
      }
      return {out.rbegin(), out.rend()};
    case B::contiguous:
      for (const auto& s : spans) {
        if (s.match == previous_match && !out.empty()) out.back().end = s.end;
        else out.push_back(s);
        previous_match = s.match;
      }
      return out;
  }
  return out;
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const nlohmann::json& node, const std::string& where) {
  PreTokenizer p;
  std::vector<const nlohmann::json*> steps;
  if (node.is_object() && node.value("type", "") == "Sequence") {
    if (!node.contains("pretokenizers") || !node["pretokenizers"].is_array())
      fail(where, "pre_tokenizer Sequence without a 'pretokenizers' list");
    for (const auto& child : node["pretokenizers"]) steps.push_back(&child);
  } else if (node.is_object()) {
    steps.push_back(&node);
  }
  bool byte_level = false;
  for (const auto* step : steps) {
    const std::string type = step->value("type", "");
    if (byte_level)
      fail(where, "pre_tokenizer '" + type + "' after ByteLevel is not supported (ByteLevel must come last)");
    if (type == "Split") {
      const auto& pattern = step->at("pattern");
      Step s;
      if (pattern.contains("Regex")) {
        s.regex = std::make_shared<SplitRegex>(pattern["Regex"].get<std::string>(), where + ": pre_tokenizer Split");
      } else if (pattern.contains("String")) {
        s.regex = std::make_shared<SplitRegex>(pattern["String"].get<std::string>(), where + ": pre_tokenizer Split", true);
      } else {
        fail(where, "pre_tokenizer Split: 'pattern' has neither 'Regex' nor 'String'");
      }
      s.behavior = behavior_of(step->value("behavior", ""), where);
      s.invert = step->value("invert", false);
      p.steps_.push_back(std::move(s));
    } else if (type == "ByteLevel") {
      byte_level = true;
      if (step->value("add_prefix_space", false)) {
        Step s;
        s.prefix_space = true;
        p.steps_.push_back(std::move(s));
      }
      if (step->value("use_regex", true)) {
        Step s;
        s.regex = std::make_shared<SplitRegex>(kGpt2Pattern, where + ": ByteLevel regex");
        p.steps_.push_back(std::move(s));
      }
    } else {
      fail(where, "pre_tokenizer type '" + type + "' is not supported for byte-level BPE (Split, ByteLevel, Sequence)");
    }
  }
  if (!byte_level) fail(where, "not a byte-level BPE tokenizer: the pre_tokenizer has no ByteLevel step");
  return p;
}

void PreTokenizer::split(const std::string& text, std::vector<std::string>& out) const {
  std::vector<std::string> pieces{text}, next;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  std::vector<Span> spans;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string& piece : pieces) {
      if (step.prefix_space) {
        // tokenizers' NormalizedString::prepend leaves an empty piece empty.
        if (!piece.empty() && piece[0] != ' ') piece.insert(piece.begin(), ' ');
        next.push_back(std::move(piece));
        continue;
      }
      step.regex->find_all(piece, matches);
      spans.clear();
      std::size_t at = 0;
      for (const auto& [b, e] : matches) {
        if (b > at) spans.push_back({at, b, false});
        spans.push_back({b, e, true});
        at = e;
      }
      if (at < piece.size()) spans.push_back({at, piece.size(), false});
      if (step.invert)
        for (auto& s : spans) s.match = !s.match;
      for (const auto& s : apply_behavior(spans, step.behavior))
        if (s.end > s.begin) next.push_back(piece.substr(s.begin, s.end - s.begin));
    }
    std::swap(pieces, next);
  }
  for (auto& p : pieces)
    if (!p.empty()) out.push_back(std::move(p));
}

}  // namespace mechlens::tokenize
