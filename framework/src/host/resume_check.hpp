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
void check_resume_matches(const std::string& archive, const std::string& resolved_recipe,
                          const std::vector<EncodedInput>& inputs, const CheckpointIdentity& checkpoint);

}  // namespace mechlens::host
