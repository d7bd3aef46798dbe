// mechlens tokenize MODEL_DIR TEXT [--json] [--raw] [--image PATH] [--jsonl FILE]
#include <filesystem>
#include <functional>
#include <memory>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "mechlens/error.hpp"
#include "models/bert/bert_model.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/phi4mm/phi4mm_tokenizer.hpp"
#include "models/qwen2/qwen2_tokenizer.hpp"
#include "models/registry.hpp"

namespace mechlens::cli {

namespace {

nlohmann::json to_json(const EncodedInput& input) {
  nlohmann::json modalities = nlohmann::json::array();
  for (const TokenAnnotation& a : input.annotations) modalities.push_back(to_string(a.modality));
  return {{"ids", input.ids}, {"tokens", input.tokens}, {"modalities", modalities}};
}

// Token strings are the vocabulary's spelling; a byte-level piece that is not
// valid UTF-8 on its own is printed with U+FFFD rather than failing.
std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void print_table(const EncodedInput& input) {
  std::cout << std::setw(5) << "pos" << "  " << std::setw(8) << "id" << "  token\n";
  for (std::size_t i = 0; i < input.ids.size(); ++i) {
    std::cout << std::setw(5) << i << "  " << std::setw(8) << input.ids[i] << "  " << input.tokens[i];
    if (i < input.annotations.size()) {
      const TokenAnnotation& a = input.annotations[i];
      if (a.modality == Modality::image)
        std::cout << "  [image crop " << a.crop << " row " << a.row << " col " << a.col << "]";
      else if (a.modality == Modality::special)
        std::cout << "  [special]";
    }
    std::cout << "\n";
  }
  std::cout << input.ids.size() << " tokens";
  if (input.answer_position >= 0) std::cout << ", answer position " << input.answer_position;
  std::cout << "\n";
}

namespace fs = std::filesystem;

// The adapter for a folder: config.json's model_type when there is one, else
// the tokenizer files alone (vocab.txt or a WordPiece tokenizer.json: bert;
// a BPE tokenizer.json: qwen2).
std::string adapter_for(const std::string& dir) {
  if (fs::exists(fs::path(dir) / "config.json")) return models::detect_adapter(dir);
  if (fs::exists(fs::path(dir) / "vocab.txt")) return "bert";
  const fs::path json = fs::path(dir) / "tokenizer.json";
  if (fs::exists(json)) {
    std::ifstream in(json);
    const nlohmann::json tokenizer = nlohmann::json::parse(in, nullptr, false);
    const std::string type = tokenizer.is_object() && tokenizer.contains("model") && tokenizer["model"].is_object()
                                 ? tokenizer["model"].value("type", "")
                                 : "";
    if (type == "WordPiece") return "bert";
    if (type == "BPE") return "qwen2";
    fail(json.string(), "tokenizer model type '" + type + "' is none mechlens reads (WordPiece, BPE)");
  }
  fail(dir, "no config.json, vocab.txt or tokenizer.json: not a checkpoint or tokenizer folder");
}

// Text prompts of the text-only adapters (and Phi-4-mm's) need only the tokenizer: no weights
// are opened, so an 11 GB checkpoint tokenizes at once and a folder of
// tokenizer files alone works. Null when the full adapter is needed (images,
// chat templates of vision-language models).
std::function<EncodedInput(const std::string&, bool)> text_encoder(const std::string& adapter, const std::string& dir) {
  if (adapter == "bert") {
    auto tokenizer = std::make_shared<tokenize::WordPiece>(models::bert::load_bert_tokenizer(dir));
    return [tokenizer](const std::string& text, bool raw) {
      EncodedInput out = models::bert::finish_bert_encoding(
          *tokenizer, raw ? tokenizer->encode(text) : tokenizer->encode_with_specials(text), !raw);
      out.spec.text = text;
      return out;
    };
  }
  if (adapter == "qwen2") {
    auto tokenizer = std::make_shared<tokenize::BytePairEncoding>(models::qwen2::load_qwen2_tokenizer(dir));
    return [tokenizer](const std::string& text, bool) { return models::qwen2::encode_qwen2_text(*tokenizer, text); };
  }
  if (adapter == "phi4mm") {
    // The adapter's own text encoding (phi4mm_tokenizer.hpp): the chat format
    // and the audio refusal, from tokenizer.json alone.
    auto tokenizer = std::make_shared<tokenize::BytePairEncoding>(models::phi4mm::load_phi4mm_tokenizer(dir));
    const auto tokens = models::phi4mm::chat_tokens(*tokenizer);
    return [tokenizer, tokens](const std::string& text, bool raw) {
      if (raw) return models::phi4mm::encode_phi4mm_text(*tokenizer, text);
      InputSpec spec;
      spec.id = "tokenize";
      spec.text = text;
      models::phi4mm::refuse_audio(spec, tokens, *tokenizer);
      EncodedInput out = models::phi4mm::encode_phi4mm_chat(*tokenizer, text);
      out.spec = spec;
      return out;
    };
  }
  return nullptr;
}

// The adapters with images: LLaVA-OneVision encodes from config.json, the
// tokenizer and the processor files without opening its weights; any other
// adapter is loaded whole.
std::unique_ptr<Model> model_for_encoding(const std::string& adapter, const std::string& dir) {
  if (adapter == "llava_onevision") return models::llava_onevision::LlavaOnevisionModel::load_encoder(dir);
  return models::load(adapter, {dir, "float32", "cpu"});
}

}  // namespace

int tokenize_command(const Args& args) {
  po::options_description options = options_with_help();
  options.add_options()
      ("json", "print one JSON object {\"ids\", \"tokens\", \"modalities\"}")
      ("raw", "the text alone: no chat template, no added special tokens")
      ("image", po::value<std::string>(), "an image for the prompt (placeholders expanded as the model sees them)")
      ("jsonl", po::value<std::string>(), "read one JSON string per line from FILE ('-' = stdin), print one JSON object per line");
  const Parsed p = parse(args, options, {"model", "text"});
  if (p.help) {
    print_help("tokenize MODEL_DIR TEXT [--json] [--raw] [--image PATH] [--jsonl FILE]",
               "Shows the token ids and strings the model's adapter produces for a prompt\n"
               "(with the chat template and special tokens, unless --raw).",
               options);
    return 0;
  }
  if (!p.values.count("model")) throw UsageError("tokenize: missing MODEL_DIR");
  const bool raw = p.values.count("raw") != 0;
  const bool has_text = p.values.count("text") != 0;
  const bool jsonl = p.values.count("jsonl") != 0;
  if (has_text == jsonl) throw UsageError("tokenize: give either TEXT or --jsonl FILE");
  if (raw && p.values.count("image")) throw UsageError("tokenize: --raw tokenizes text alone; it takes no --image");

  const std::string dir = p.values["model"].as<std::string>();
  const std::string adapter = adapter_for(dir);
  const auto text_only = p.values.count("image") ? nullptr : text_encoder(adapter, dir);
  const std::unique_ptr<Model> model = text_only ? nullptr : model_for_encoding(adapter, dir);

  InputSpec spec;
  spec.id = "tokenize";
  if (p.values.count("image"))
    spec.image = std::filesystem::absolute(p.values["image"].as<std::string>()).lexically_normal().string();
  auto encode = [&](const std::string& text) {
    if (text_only) return text_only(text, raw);
    if (raw) return model->encode_raw(text);
    InputSpec s = spec;
    s.text = text;
    return model->encode(s);
  };

  if (!jsonl) {
    const EncodedInput input = encode(p.values["text"].as<std::string>());
    if (p.values.count("json"))
      std::cout << dump(to_json(input)) << "\n";
    else
      print_table(input);
    return 0;
  }

  const std::string file = p.values["jsonl"].as<std::string>();
  std::ifstream stream;
  if (file != "-") {
    stream.open(file);
    if (!stream) fail(file, "cannot open");
  }
  std::istream& in = file == "-" ? std::cin : stream;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = file + ":" + std::to_string(number);
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(where, std::string("not JSON: ") + e.what());
    }
    if (!value.is_string()) fail(where, "expected a JSON string, got " + std::string(value.type_name()));
    std::cout << dump(to_json(encode(value.get<std::string>()))) << "\n";
  }
  return 0;
}

}  // namespace mechlens::cli
