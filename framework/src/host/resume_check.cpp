#include "host/resume_check.hpp"

#include <sstream>
#include <tuple>

#include "checkpoint/sha256.hpp"
#include "mechlens/error.hpp"
#include "store/archive_format.hpp"
#include "store/resumable_run.hpp"

namespace mechlens::host {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < 6; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > 6) out += ", ...";
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string quoted_line(const std::vector<std::string>& lines, std::size_t i) {
  return i < lines.size() ? "`" + lines[i] + "`" : "nothing (the recipe ends)";
}

std::string short_hash(const std::string& hash) { return hash.substr(0, 12); }

std::string input_difference(const std::vector<std::string>& stored, const std::vector<EncodedInput>& inputs) {
  std::vector<std::string> ids;
  for (const EncodedInput& input : inputs) ids.push_back(input.spec.id);
  if (ids == stored) return "";
  if (ids.size() != stored.size())
    return "the inputs differ: the unfinished run has " + std::to_string(stored.size()) + " (" + joined(stored) +
           "), this recipe " + std::to_string(ids.size()) + " (" + joined(ids) + ")";
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != stored[i])
      return "the inputs differ: input " + std::to_string(i) + " is '" + ids[i] + "' here, '" + stored[i] +
             "' in the unfinished run";
  return "";
}

std::string image_difference(const std::vector<std::string>& stored, const std::vector<EncodedInput>& inputs) {
  for (std::size_t i = 0; i < inputs.size() && i < stored.size(); ++i) {
    const InputSpec& spec = inputs[i].spec;
    const std::string now = spec.image ? checkpoint::sha256_file_hex(*spec.image) : "";
    if (now != stored[i])
      return "input '" + spec.id + "': the image differs (sha256 " + short_hash(now) + "... here, " +
             short_hash(stored[i]) + "... in the unfinished run)";
  }
  return "";
}

}  // namespace

std::string resolved_recipe_difference(const std::string& stored, const std::string& now, const std::string& here_label,
                                       const std::string& there_label) {
  if (stored == now) return "";
  const auto a = lines_of(stored), b = lines_of(now);
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return "the resolved recipe differs: line " + std::to_string(i + 1) + " is " + quoted_line(b, i) + " " + here_label +
         ", " + quoted_line(a, i) + " " + there_label;
}

std::string checkpoint_difference(const CheckpointFacts& there, const CheckpointFacts& here,
                                  const std::string& here_label, const std::string& there_label) {
  const std::tuple<const char*, const std::string*, const std::string*> facts[] = {
      {"format", &there.format, &here.format},
      {"config_sha256", &there.config_sha256, &here.config_sha256},
      {"tensors_sha256", &there.tensors_sha256, &here.tensors_sha256}};
  for (const auto& [what, stored, now] : facts)
    if (!stored->empty() && *stored != *now)
      return "the checkpoint differs (" + std::string(what) + " " + short_hash(*now) + " " + here_label + ", " +
             short_hash(*stored) + " " + there_label + ")";
  return "";
}

void check_resume_matches(const std::string& archive, const std::string& resolved_recipe,
                          const std::vector<EncodedInput>& inputs, const CheckpointIdentity& checkpoint) {
  const auto record = store::read_resumable_run(
      archive, {"provenance/resolved_recipe", "model/format", "model/config_sha256", "model/tensors_sha256"},
      {"inputs/input", "inputs/image_sha256"});
  if (!record) return;
  auto attr = [&](const std::string& key) -> const std::string* {
    auto it = record->string_attrs.find(key);
    return it == record->string_attrs.end() ? nullptr : &it->second;
  };
  std::string why;
  if (auto it = record->string_datasets.find("inputs/input"); it != record->string_datasets.end())
    why = input_difference(it->second, inputs);
  if (why.empty())
    if (auto it = record->string_datasets.find("inputs/image_sha256"); it != record->string_datasets.end())
      why = image_difference(it->second, inputs);
  if (why.empty()) {
    auto stored = [&](const char* key) { return attr(key) ? *attr(key) : std::string(); };
    why = checkpoint_difference({stored("model/format"), stored("model/config_sha256"), stored("model/tensors_sha256")},
                                {checkpoint.format, checkpoint.config_sha256, checkpoint.tensors_sha256}, "here",
                                "in the unfinished run");
  }
  if (why.empty())
    if (const std::string* stored = attr("provenance/resolved_recipe"))
      why = resolved_recipe_difference(*stored, resolved_recipe, "here", "in the unfinished run");
  if (why.empty()) return;
  fail(archive + store::kPartialSuffix,
       "cannot resume " + record->run.name + ": " + why +
           ". Resume with the recipe, inputs and checkpoint the run started with, or delete this file to start over "
           "(the archive itself is intact)");
}

}  // namespace mechlens::host
