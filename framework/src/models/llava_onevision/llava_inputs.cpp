// Binds the adapter's image-processor interface to the framework's
// LlavaOnevisionImageProcessor (vision/llava_onevision_processor.hpp).
#include "models/llava_onevision/llava_inputs.hpp"

#include <filesystem>

#include "mechlens/error.hpp"
#include "vision/llava_onevision_processor.hpp"

namespace mechlens::models::llava_onevision {
namespace {

class Processor final : public LlavaImageProcessor {
 public:
  explicit Processor(vision::LlavaOnevisionProcessorConfig config) : config_(std::move(config)) {}
  PreprocessedImage preprocess(const std::string& path) const override {
    vision::LlavaOnevisionImage image = vision::preprocess_llava_onevision_file(path, config_);
    PreprocessedImage out;
    out.pixel_values = std::move(image.pixel_values);
    out.height = image.height;
    out.width = image.width;
    out.expected_tokens = image.tokens.total;
    out.resized_height = image.plan.resized_height;
    out.resized_width = image.plan.resized_width;
    out.pad_top = image.plan.pad_top;
    out.pad_left = image.plan.pad_left;
    out.tile = image.plan.tile;
    return out;
  }

 private:
  vision::LlavaOnevisionProcessorConfig config_;
};

}  // namespace

std::shared_ptr<const LlavaImageProcessor> load_llava_processor(const std::string& directory, const LlavaConfig& config) {
  const std::string file = (std::filesystem::path(directory) / "preprocessor_config.json").string();
  auto processor = vision::LlavaOnevisionProcessorConfig::load(directory);
  // The processor tiles with its pinpoints and crop size, the model unpads
  // with config.json's: they must be the same numbers.
  if (processor.grid_pinpoints != config.grid_pinpoints)
    fail(file + ": key 'image_grid_pinpoints'", "differs from config.json's image_grid_pinpoints");
  if (processor.crop_height != config.vision.image_size || processor.crop_width != config.vision.image_size)
    fail(file + ": key 'size'", std::to_string(processor.crop_height) + "x" + std::to_string(processor.crop_width) +
                                    " crops, but vision_config.image_size is " + std::to_string(config.vision.image_size));
  return std::make_shared<Processor>(std::move(processor));
}

}  // namespace mechlens::models::llava_onevision
