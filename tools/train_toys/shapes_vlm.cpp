#include "shapes_vlm.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "adamw.hpp"
#include "checkpoint/checkpoint.hpp"
#include "mechlens/error.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/llava_onevision/llava_packing.hpp"
#include "models/qwen2/qwen2_decoder.hpp"
#include "qwen2_parameters.hpp"
#include "shapes_dataset.hpp"
#include "tiny_llava_onevision.hpp"
#include "tiny_tensors.hpp"
#include "vision_parameters.hpp"

namespace mechlens::toys {
namespace {

namespace fs = std::filesystem;
using models::llava_onevision::LlavaConfig;
using models::llava_onevision::LlavaOnevisionModel;
using models::llava_onevision::PackLayout;
using models::qwen2::Qwen2Decoder;

// One question's prompt exactly as the adapter encodes it: the ids with the
// image placeholder expanded, and where each image cell sits.
struct Template {
  std::string question;
  at::Tensor ids;              // [T] int64
  at::Tensor image_positions;  // [N] int64, every image token (patches and newlines)
  std::vector<std::int64_t> image_list;       // the same
  std::vector<std::int64_t> patch_positions;  // image tokens that are patches (not newlines)
  std::map<std::tuple<int, int, int>, std::int64_t> position_of;  // (crop, row, col) → position
};

Template make_template(const LlavaOnevisionModel& model, const std::string& question, const std::string& image_path,
                       const at::Tensor& expected_pixels) {
  const PackLayout layout = model.pack_layout_for(expected_pixels.size(2), expected_pixels.size(3));
  InputSpec spec;
  spec.id = "template";
  spec.text = question;
  spec.image = image_path;
  const EncodedInput encoded = model.encode(spec);
  // Training feeds pixels normalised here, without the processor; they must be
  // what the adapter's processor makes of the same PNG, or the toy would
  // learn on inputs mechlens never shows it.
  const at::Tensor pv = encoded.extras.at("pixel_values");
  if (pv.size(0) != 1 + layout.tiles() || layout.tiles() != 1)
    fail(image_path, "expected the image to be one base crop plus one tile, got " + std::to_string(pv.size(0)) + " crops");
  for (std::int64_t c = 0; c < pv.size(0); ++c) {
    const double diff = (pv[c].to(at::kFloat) - expected_pixels[0]).abs().max().item<double>();
    if (diff > 1e-5)
      fail(image_path, "the processor's crop " + std::to_string(c) + " differs from the trainer's pixels by " +
                           std::to_string(diff));
  }
  Template t;
  t.question = question;
  t.ids = at::tensor(encoded.ids, at::kLong);
  std::vector<std::int64_t> image;
  for (std::size_t i = 0; i < encoded.ids.size(); ++i) {
    const TokenAnnotation& a = encoded.annotations[i];
    if (a.modality != Modality::image) continue;
    image.push_back(static_cast<std::int64_t>(i));
    const bool newline = a.crop == 1 && a.col == layout.out_cols;
    if (!newline) t.patch_positions.push_back(static_cast<std::int64_t>(i));
    t.position_of[{a.crop, a.row, a.col}] = static_cast<std::int64_t>(i);
  }
  t.image_positions = at::tensor(image, at::kLong);
  t.image_list = image;
  if (t.image_positions.size(0) != layout.tokens())
    fail("train_toys shapes", "template has " + std::to_string(image.size()) + " image tokens, layout " +
                                  std::to_string(layout.tokens()));
  return t;
}

// The adapter's forward (LlavaOnevisionModel::embed, run_blocks, unembed) over
// trainable tensors: tower → feature layer → projector → pack_image_features
// → scattered into the prompt's image positions → decoder → logits at the last position.
struct Net {
  const LlavaConfig& config;
  const Qwen2Decoder& decoder;
  const VisionParameters& vision;
  PackLayout layout;

  // pixels [B, 3, S, S] → packed image features [B, tokens, D].
  at::Tensor image_features(const at::Tensor& pixels) const {
    const auto tower = make_tower(vision, config.vision);
    const std::vector<at::Tensor> states = tower.hidden_states(pixels, config.feature_layers, nullptr);
    at::Tensor selected = states.size() == 1 ? states[0] : at::cat(states, -1);
    if (config.select_strategy == "default") selected = selected.narrow(1, 1, selected.size(1) - 1);
    const at::Tensor projected = vision.projector(selected);
    // The base crop and the single tile hold the same pixels and the tower
    // sees each crop on its own, so one tower pass serves both.
    std::vector<at::Tensor> packed;
    for (std::int64_t b = 0; b < pixels.size(0); ++b)
      packed.push_back(models::llava_onevision::pack_image_features(at::stack({projected[b], projected[b]}), layout,
                                                                    vision.image_newline));
    return at::stack(packed);
  }
  // The language model's input rows (hook_inputs_embeds): [B, T, D].
  at::Tensor inputs_embeds(const Template& t, const at::Tensor& pixels) const {
    const at::Tensor x = decoder.embed_tokens(t.ids.unsqueeze(0).expand({pixels.size(0), -1}));
    return x.index_copy(1, t.image_positions, image_features(pixels));
  }
  at::Tensor answer_logits(const at::Tensor& x, const HookSet* hooks = nullptr) const {
    const at::Tensor h = decoder.run_blocks(x, {}, 0, decoder.config().num_layers, hooks);
    return decoder.unembed(h.select(1, h.size(1) - 1), nullptr);
  }
};

struct Pixels {
  float mean[3], std[3];
  at::Tensor operator()(const std::vector<ShapeSample>& samples) const {
    std::vector<at::Tensor> out;
    for (const ShapeSample& s : samples) {
      std::vector<float> chw = normalised_chw(s, mean, std);
      out.push_back(at::tensor(chw, at::kFloat).view({3, s.size, s.size}));
    }
    return at::stack(out);
  }
};

// The single token each answer word is; the same spelling convention for
// all (the bare word after "assistant\n" if every word is one token so, else
// with a leading space).
std::map<std::string, std::int64_t> answer_tokens(const LlavaOnevisionModel& model, const std::vector<std::string>& words,
                                                  std::string& convention) {
  for (const std::string prefix : {"", " "}) {
    std::map<std::string, std::int64_t> ids;
    for (const auto& w : words) {
      const auto enc = model.encode_raw(prefix + w).ids;
      if (enc.size() == 1) ids[w] = enc[0];
    }
    if (ids.size() == words.size()) {
      convention = prefix.empty() ? "bare word" : "leading space";
      return ids;
    }
  }
  fail("train_toys shapes", "the tiny tokenizer does not spell every answer word as one token");
}

std::vector<ShapeSample> draw(std::mt19937_64& rng, int n, const ShapesGeometry& g) {
  std::vector<ShapeSample> out;
  for (int i = 0; i < n; ++i) out.push_back(generate_shape(rng, g));
  return out;
}

// The planted route. A tower trained end to end on one shape per image
// spreads the shape's colour into every image token (its attention is free
// to), and the decoder then reads it anywhere. So for a fraction of training
// rows the image tokens that are background in both images are taken from
// the previous row's image (another shape, usually another colour), label
// unchanged: whatever the background carries about the other image is
// wrong, and the answer has to come from the object's own tokens.
at::Tensor interchange_background(const at::Tensor& x, const Template& t, const std::vector<ShapeSample>& batch,
                                  double fraction, std::mt19937_64& rng) {
  if (fraction <= 0 || batch.size() < 2) return x;
  const auto B = static_cast<std::int64_t>(batch.size());
  at::Tensor object = at::zeros({B, x.size(1)}, at::kBool);
  for (std::int64_t b = 0; b < B; ++b)
    for (int crop = 0; crop < 2; ++crop)
      for (const Cell& c : batch[b].cells) object[b][t.position_of.at({crop, c.row, c.col})] = true;
  at::Tensor image = at::zeros({x.size(1)}, at::kBool);
  image.index_fill_(0, t.image_positions, true);
  const at::Tensor donor_object = object.roll(1, 0);
  std::vector<std::uint8_t> chosen(B);
  for (auto& c : chosen) c = (rng() % 1000) < fraction * 1000;
  const at::Tensor rows = at::tensor(std::vector<std::int64_t>(chosen.begin(), chosen.end()), at::kLong).to(at::kBool);
  const at::Tensor swap = image.unsqueeze(0) & ~object & ~donor_object & rows.unsqueeze(1);
  return at::where(swap.unsqueeze(-1), x.roll(1, 0), x);
}

struct Figures {
  double accuracy = 0, object_ablated = 0, random_ablated = 0, only_object = 0, object_tokens = 0;
};

// Mean language-model input row over every image token of `samples`: the
// "mean image embedding" ablations write (colour-neutral: the colours are balanced).
at::Tensor mean_image_row(const Net& net, const Template& t, const std::vector<ShapeSample>& samples, const Pixels& pixels) {
  at::NoGradGuard no_grad;
  return net.inputs_embeds(t, pixels(samples)).index_select(1, t.image_positions).mean(at::IntArrayRef{0, 1});
}

// Accuracy with the LM input intact; with the object's image-token rows (both
// crops) replaced by `fill` (undefined: that input's own mean image-token
// row); with as many random non-object patch rows replaced (3 draws); and
// with every image row but the object's replaced.
Figures evaluate(const Net& net, const Template& t, const std::vector<ShapeSample>& samples,
                 const std::vector<std::int64_t>& answers, const Pixels& pixels, const at::Tensor& fill,
                 std::uint64_t seed) {
  at::NoGradGuard no_grad;
  std::mt19937_64 rng(seed);
  Figures f;
  const int draws = 3;
  for (std::size_t start = 0; start < samples.size(); start += 100) {
    const std::size_t end = std::min(samples.size(), start + 100);
    const std::vector<ShapeSample> chunk(samples.begin() + start, samples.begin() + end);
    const at::Tensor x = net.inputs_embeds(t, pixels(chunk));
    const at::Tensor target = at::tensor(std::vector<std::int64_t>(answers.begin() + start, answers.begin() + end), at::kLong);
    const auto right = [&](const at::Tensor& input) {
      return net.answer_logits(input).argmax(-1).eq(target).sum().item<double>();
    };
    f.accuracy += right(x);
    at::Tensor object = x.clone(), only = x.clone();
    std::vector<at::Tensor> random(draws);
    for (auto& r : random) r = x.clone();
    for (std::size_t b = 0; b < chunk.size(); ++b) {
      const at::Tensor value = fill.defined() ? fill : x[b].index_select(0, t.image_positions).mean(0);
      std::vector<std::int64_t> obj;
      for (int crop = 0; crop < 2; ++crop)
        for (const Cell& c : chunk[b].cells) obj.push_back(t.position_of.at({crop, c.row, c.col}));
      f.object_tokens += obj.size();
      object[b].index_put_({at::tensor(obj, at::kLong)}, value);
      std::vector<std::int64_t> others, rest;
      for (std::int64_t p : t.patch_positions)
        if (std::find(obj.begin(), obj.end(), p) == obj.end()) others.push_back(p);
      for (std::int64_t p : t.image_list)
        if (std::find(obj.begin(), obj.end(), p) == obj.end()) rest.push_back(p);
      only[b].index_put_({at::tensor(rest, at::kLong)}, value);
      for (auto& r : random) {
        std::vector<std::int64_t> pick = others;
        for (std::size_t i = 0; i < obj.size(); ++i) std::swap(pick[i], pick[i + rng() % (pick.size() - i)]);
        pick.resize(obj.size());
        r[b].index_put_({at::tensor(pick, at::kLong)}, value);
      }
    }
    f.object_ablated += right(object);
    f.only_object += right(only);
    for (auto& r : random) f.random_ablated += right(r) / draws;
  }
  const double n = static_cast<double>(samples.size());
  f.accuracy /= n, f.object_ablated /= n, f.random_ablated /= n, f.only_object /= n, f.object_tokens /= n;
  return f;
}

nlohmann::json to_json(const Figures& f) {
  return {{"accuracy", f.accuracy},
          {"accuracy_object_tokens_ablated", f.object_ablated},
          {"accuracy_random_tokens_ablated", f.random_ablated},
          {"accuracy_all_but_object_tokens_ablated", f.only_object},
          {"mean_object_tokens", f.object_tokens}};
}

// Per decoder head: the last position's attention mass on the object's image
// tokens and on all image tokens (blocks.L.attn.hook_pattern), and the
// accuracy with the head's output (hook_z) zeroed. Where the colour is read.
nlohmann::json head_diagnostics(const Net& net, const Template& t, const std::vector<ShapeSample>& samples,
                                const std::vector<std::int64_t>& answers, const Pixels& pixels) {
  at::NoGradGuard no_grad;
  const at::Tensor x = net.inputs_embeds(t, pixels(samples));
  const at::Tensor target = at::tensor(answers, at::kLong);
  const auto B = static_cast<std::int64_t>(samples.size()), T = x.size(1);
  at::Tensor object = at::zeros({B, T}, at::kFloat), image = at::zeros({T}, at::kFloat);
  for (std::int64_t b = 0; b < B; ++b)
    for (int crop = 0; crop < 2; ++crop)
      for (const Cell& c : samples[b].cells) object[b][t.position_of.at({crop, c.row, c.col})] = 1;
  image.index_fill_(0, t.image_positions, 1);
  const int L = net.decoder.config().num_layers, H = net.decoder.config().num_heads;
  std::vector<at::Tensor> last_rows(L);  // [B, H, T]
  HookSet read;
  read.add_read("blocks.*.attn.hook_pattern", [&](const std::string& name, const at::Tensor& p) {
    last_rows[std::stoi(name.substr(7))] = p.select(2, T - 1);
  });
  net.answer_logits(x, &read);
  nlohmann::json heads = nlohmann::json::array();
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      HookSet zero;
      zero.add_write("blocks." + std::to_string(l) + ".attn.hook_z", [h](const std::string&, const at::Tensor& z) {
        at::Tensor out = z.clone();
        out.select(2, h).zero_();
        return out;
      });
      const at::Tensor row = last_rows[l].select(1, h);  // [B, T]
      heads.push_back({{"layer", l},
                       {"head", h},
                       {"last_token_attention_to_object", (row * object).sum(-1).mean().item<double>()},
                       {"last_token_attention_to_image", (row * image).sum(-1).mean().item<double>()},
                       {"accuracy_when_zeroed",
                        net.answer_logits(x, &zero).argmax(-1).eq(target).to(at::kDouble).mean().item<double>()}});
    }
  return heads;
}

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

}  // namespace

void train_shapes_vlm(const std::string& directory, const ShapesOptions& o) {
  // One thread: the tensors are small, and on a shared machine OpenMP's
  // spin-waiting between two threads cost ten times the work itself.
  at::set_num_threads(1);
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  at::manual_seed(o.seed);

  tiny::TinyLlavaOptions shape;
  shape.text.layers = 2, shape.text.heads = 4, shape.text.kv_heads = 2, shape.text.d_model = 64, shape.text.d_ff = 128;
  shape.text.merges = 300, shape.text.max_positions = 256, shape.text.seed = o.seed;
  shape.vision_layers = 2, shape.vision_heads = 4, shape.vision_d = 32, shape.vision_ff = 64;
  shape.image_size = 48, shape.patch_size = 8;
  shape.max_grid = 1;  // pinpoints [[48, 48]]: every image is the base crop plus one identical tile
  shape.with_post_layernorm = false;  // LLaVA never reads it
  shape.seed = o.seed;
  tiny::write_tiny_llava_onevision(directory, shape);  // random init, tokenizer, configs in HF layout

  const ShapesGeometry geometry{shape.image_size, shape.patch_size};
  std::unique_ptr<LlavaOnevisionModel> model = LlavaOnevisionModel::load({directory, "float32", "cpu"});
  const LlavaConfig& config = model->config();
  const auto ckpt = checkpoint::Checkpoint::open(directory);

  std::ifstream pre_file(fs::path(directory) / "preprocessor_config.json");
  const nlohmann::json pre = nlohmann::json::parse(pre_file);
  Pixels pixels;
  for (int c = 0; c < 3; ++c) pixels.mean[c] = pre["image_mean"][c].get<float>(), pixels.std[c] = pre["image_std"][c].get<float>();

  // Prompts through the adapter's own encode (chat template, placeholder
  // expansion, annotations) on a sample PNG, checked against our pixels.
  std::mt19937_64 probe_rng(o.seed + 7);
  const std::vector<ShapeSample> probe = draw(probe_rng, 1, geometry);
  const fs::path probe_dir = fs::path(directory) / ".probe";
  write_shapes_dataset(probe_dir.string(), 1, o.seed + 7, geometry);
  const at::Tensor probe_pixels = pixels(probe);
  const Template colour_t = make_template(*model, kColourQuestion, (probe_dir / "shape_000.png").string(), probe_pixels);
  const Template left_t = make_template(*model, kLeftQuestion, (probe_dir / "shape_000.png").string(), probe_pixels);
  fs::remove_all(probe_dir);

  std::string convention;
  std::vector<std::string> words = shape_colours();
  words.push_back("left"), words.push_back("right");
  const std::map<std::string, std::int64_t> answer_id = answer_tokens(*model, words, convention);
  const auto answers_of = [&](const std::vector<ShapeSample>& s, bool colour) {
    std::vector<std::int64_t> ids;
    for (const auto& x : s) ids.push_back(answer_id.at(colour ? colour_answer(x) : left_answer(x)));
    return ids;
  };

  // Trainable copies, and the adapter's pieces over them.
  models::qwen2::Qwen2Weights text = model->decoder().weights();
  make_trainable(text);
  const Qwen2Decoder decoder(model->decoder().config(), text);
  VisionParameters vision = load_vision_parameters(ckpt, config, model->layout());
  const Net net{config, decoder, vision, model->pack_layout_for(shape.image_size, shape.image_size)};
  std::vector<std::pair<std::string, at::Tensor*>> named = named_parameters(text, model->layout().language_model);
  for (auto& p : named_parameters(vision, model->layout())) named.push_back(p);
  std::vector<at::Tensor> params;
  for (auto& [name, t] : named) params.push_back(*t);
  AdamW opt(params, o.lr);

  std::mt19937_64 rng(o.seed);
  const double pi = std::acos(-1.0);
  for (int step = 1; step <= o.steps; ++step) {
    // Linear warm-up, cosine decay to a tenth.
    const double warm = std::min(1.0, step / 50.0);
    opt.set_lr(o.lr * warm * (0.55 + 0.45 * std::cos(pi * step / o.steps)));
    const std::vector<ShapeSample> colour_batch = draw(rng, o.batch, geometry);
    const std::vector<ShapeSample> left_batch = draw(rng, o.batch / 2, geometry);
    const at::Tensor colour_logits =
        net.answer_logits(interchange_background(net.inputs_embeds(colour_t, pixels(colour_batch)), colour_t, colour_batch, o.interchange, rng));
    const at::Tensor left_logits =
        net.answer_logits(interchange_background(net.inputs_embeds(left_t, pixels(left_batch)), left_t, left_batch, o.interchange, rng));
    const at::Tensor colour_target = at::tensor(answers_of(colour_batch, true), at::kLong);
    const at::Tensor colour_loss = at::cross_entropy_loss(colour_logits, colour_target);
    const at::Tensor left_loss = at::cross_entropy_loss(left_logits, at::tensor(answers_of(left_batch, false), at::kLong));
    const at::Tensor loss = colour_loss + left_loss;
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 100 == 0 || step == 1)
      std::cerr << "shapes toy: step " << step << " colour loss " << colour_loss.item<double>() << " left loss "
                << left_loss.item<double>() << " colour batch accuracy "
                << colour_logits.argmax(-1).eq(colour_target).to(at::kDouble).mean().item<double>() << "\n";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;

  // Held-out images from another seed.
  std::mt19937_64 held_rng(o.seed + 1000);
  const std::vector<ShapeSample> held = draw(held_rng, o.held_out, geometry);
  const at::Tensor mean_row = mean_image_row(net, colour_t, held, pixels);
  const Figures colour = evaluate(net, colour_t, held, answers_of(held, true), pixels, mean_row, o.seed + 3);
  const Figures colour_own = evaluate(net, colour_t, held, answers_of(held, true), pixels, {}, o.seed + 3);
  const Figures left = evaluate(net, left_t, held, answers_of(held, false), pixels, mean_row, o.seed + 3);
  const auto report = [](const char* what, const Figures& f) {
    std::cerr << "shapes toy: held-out " << what << " accuracy " << f.accuracy << "; object tokens ablated "
              << f.object_ablated << ", as many random image tokens " << f.random_ablated << ", all but the object "
              << f.only_object << "\n";
  };
  report("colour", colour);
  report("colour (per-input mean fill)", colour_own);
  report("left/right", left);
  const std::vector<ShapeSample> probe_heads(held.begin(), held.begin() + std::min<std::size_t>(held.size(), 200));
  const nlohmann::json colour_heads = head_diagnostics(net, colour_t, probe_heads, answers_of(probe_heads, true), pixels);
  const nlohmann::json left_heads = head_diagnostics(net, left_t, probe_heads, answers_of(probe_heads, false), pixels);
  std::cerr << "shapes toy: trained in " << seconds << " s wall, " << cpu << " s CPU\n";

  // Weights back into the checkpoint under the same names.
  tiny::TensorWriter out(o.seed, "float32");
  for (auto& [name, t] : named) out.put(name, t->detach().contiguous());
  out.write(directory);

  nlohmann::json answer_json = nlohmann::json::object();
  for (const auto& [w, id] : answer_id) answer_json[w] = {{"id", id}, {"token", model->token_string(id)}};
  const nlohmann::json record = {
      {"task",
       "one coloured shape on a noisy tinted background; answer 'What colour is the shape?' (colour word) and 'Is the "
       "shape on the left or the right?' (left/right) with one token at the last prompt position"},
      {"questions", {{"colour", kColourQuestion}, {"left", kLeftQuestion}}},
      {"colours", shape_colours()},
      {"shapes", shape_kinds()},
      {"answer_tokens", answer_json},
      {"answer_spelling", convention},
      {"image_size", shape.image_size},
      {"patch_size", shape.patch_size},
      {"image_tokens", net.layout.tokens()},
      {"object_tokens_rule", "grid cells overlapping the shape's bounding box, in the base crop (crop 0) and the tile (crop 1)"},
      {"ablation",
       "the language model's input rows (hook_inputs_embeds) of the object's image tokens (both crops) replaced by the "
       "mean image-token row over the held-out images, versus as many random non-object patch tokens (3 draws), versus "
       "every image token but the object's; colour_per_input_mean: the same with each input's own mean image-token row"},
      {"held_out",
       {{"images", o.held_out},
        {"seed", o.seed + 1000},
        {"colour", to_json(colour)},
        {"colour_per_input_mean", to_json(colour_own)},
        {"left", to_json(left)},
        {"colour_heads", colour_heads},
        {"left_heads", left_heads}}},
      {"training",
       {{"steps", o.steps}, {"batch", o.batch}, {"lr", o.lr}, {"seed", o.seed}, {"wall_seconds", seconds},
        {"cpu_seconds", cpu}, {"threads", at::get_num_threads()},
        {"background_interchange", o.interchange},
        {"background_interchange_rule",
         "for this fraction of training rows, the image tokens that are background in both images come from the "
         "previous row's image, label unchanged, so that the answer must be read from the object's own tokens"}}},
  };
  tiny::write_text_file((fs::path(directory) / "mechanisms.json").string(), record.dump(2) + "\n");

  if (!o.data_dir.empty()) {
    write_shapes_dataset(o.data_dir, o.data_images, o.seed + 2000, geometry);
    std::cerr << "shapes toy: wrote " << o.data_images << " held-out images to " << o.data_dir << "\n";
  }
}

}  // namespace mechlens::toys
