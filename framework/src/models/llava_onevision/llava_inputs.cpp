// Binds the adapter's image-processor interface to the
// framework's implementations.
#include "models/llava_onevision/llava_inputs.hpp"

#include "mechlens/error.hpp"

namespace mechlens::models::llava_onevision {

std::shared_ptr<const LlavaImageProcessor> load_llava_processor(const std::string&, const LlavaConfig&) { return nullptr; }

}  // namespace mechlens::models::llava_onevision
