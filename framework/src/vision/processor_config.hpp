#pragma once
// The numbers LLaVA-OneVision's image processor and token rule read from a
// checkpoint directory: preprocessor_config.json (LlavaOnevisionImageProcessor),
// processor_config.json (LlavaOnevisionProcessor) and config.json
// (LlavaOnevisionConfig). Defaults are the processor classes' own defaults
// (transformers image_processing_llava_onevision.py, processing_llava_onevision.py).
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "vision/pil_resize.hpp"

namespace mechlens::vision {

struct LlavaOnevisionProcessorConfig {
  // "size": {"height", "width"} (or {"shortest_edge"}): every crop's size, 384 x 384.
  int crop_height = 384;
  int crop_width = 384;
  // "image_grid_pinpoints", each (height, width) in pixels.
  std::vector<std::pair<int, int>> grid_pinpoints;
  Resample resample = Resample::bicubic;  // "resample" (PIL code, 3 = BICUBIC)
  bool do_resize = true;
  bool do_rescale = true;
  bool do_normalize = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<double, 3> image_mean{0.48145466, 0.4578275, 0.40821073};  // OPENAI_CLIP_MEAN
  std::array<double, 3> image_std{0.26862954, 0.26130258, 0.27577711};  // OPENAI_CLIP_STD
  // Token rule: features per crop side (sqrt of processor_config's
  // num_image_tokens, else vision image_size // patch_size), anyres budget
  // ("anyres_max_9" -> 9), and the select strategy ("default" drops one token).
  int patches_per_side = 27;
  std::string vision_aspect_ratio = "anyres_max_9";
  int max_num_patches = 9;
  std::string vision_feature_select_strategy = "full";

  // HF's default pinpoints: every (384 i, 384 j), i, j in 1..6, rows first.
  static std::vector<std::pair<int, int>> default_pinpoints();
  // Reads <directory>/preprocessor_config.json (required), and
  // processor_config.json and config.json when present. Errors name file and key.
  static LlavaOnevisionProcessorConfig load(const std::string& directory);
};

// int(vision_aspect_ratio.strip("anyres_max_")) — Python strips the character
// set {a,n,y,r,e,s,_,m,x} from both ends, then int() must succeed.
int parse_max_num_patches(const std::string& vision_aspect_ratio, const std::string& where);

}  // namespace mechlens::vision
