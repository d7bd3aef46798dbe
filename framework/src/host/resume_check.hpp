#pragma once
// `--resume` continues only the same work: a changed recipe, other inputs or
// another checkpoint would finish the old run's results under the new
// provenance. Checked before the `.partial` is written to, so a refused
// resume leaves it as it was.
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens::host {

// Throws naming the `.partial` and what differs (inputs, an image, the
// checkpoint, the first differing line of the resolved recipe). Does nothing
// when there is no resumable run (open_run says so) or the run had not yet
// recorded a fact when it was interrupted.
// The first difference between two resolved recipes ("" when equal), as
// "the resolved recipe differs: line N is `...` <here>, `...` <there>".
std::string resolved_recipe_difference(const std::string& there, const std::string& here, const std::string& here_label,
                                       const std::string& there_label);
// The first difference of checkpoint identity (format, config_sha256,
// tensors_sha256; "" when equal or unknown there).
struct CheckpointFacts {
  std::string format, config_sha256, tensors_sha256;
};
std::string checkpoint_difference(const CheckpointFacts& there, const CheckpointFacts& here,
                                  const std::string& here_label, const std::string& there_label);

void check_resume_matches(const std::string& archive, const std::string& resolved_recipe,
                          const std::vector<EncodedInput>& inputs, const CheckpointIdentity& checkpoint);

}  // namespace mechlens::host
