// Opening a checkpoint directory the way Hugging Face's from_pretrained looks
// for weights (transformers/modeling_utils.py): model.safetensors first, else
// the shards named by model.safetensors.index.json's "weight_map".
#include <filesystem>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/error.hpp"

namespace mechlens::checkpoint {
namespace fs = std::filesystem;
namespace {

std::string tensor_in(const std::string& file, const std::string& name) {
  return file + ": tensor '" + name + "'";
}

// Shards in name order; checks the index against the shards both ways.
std::vector<SafetensorsFile> open_shards(const fs::path& directory, const std::string& index_path) {
  Config index = Config::load(index_path);
  Config weight_map_config = index.child("weight_map");
  std::map<std::string, std::string> weight_map;  // tensor → shard file name
  std::map<std::string, std::string> first_tensor;  // shard → a tensor it should hold
  for (const auto& [name, shard] : weight_map_config.json().items()) {
    if (!shard.is_string())
      fail(weight_map_config.where(name), "is not a file name (" + shard.dump() + ")");
    weight_map[name] = shard.get<std::string>();
    first_tensor.emplace(shard.get<std::string>(), name);
  }
  if (weight_map.empty()) fail(index_path, "'weight_map' is empty");

  std::vector<SafetensorsFile> files;
  std::map<std::string, std::size_t> by_shard;
  for (const auto& [shard, tensor] : first_tensor) {
    const fs::path path = directory / shard;
    if (!fs::exists(path))
      fail(index_path, "shard '" + shard + "' (listed for tensor '" + tensor +
                           "') does not exist: " + path.string());
    by_shard[shard] = files.size();
    files.push_back(SafetensorsFile::open(path.string()));
  }
  for (const auto& [name, shard] : weight_map) {
    const auto& file = files[by_shard.at(shard)];
    if (!file.tensors().count(name))
      fail(tensor_in(index_path, name),
           "listed in weight_map for '" + shard + "', but " + file.path() + " does not contain it");
  }
  for (const auto& file : files)
    for (const auto& [name, view] : file.tensors()) {
      auto it = weight_map.find(name);
      if (it == weight_map.end())
        fail(tensor_in(file.path(), name), "is not listed in " + index_path + "'s weight_map");
      if (files[by_shard.at(it->second)].path() != file.path())
        fail(tensor_in(file.path(), name),
             "also in " + files[by_shard.at(it->second)].path() + " (the index names that one)");
    }
  return files;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& directory) {
  const fs::path dir(directory);
  if (!fs::exists(dir)) fail(directory, "checkpoint directory does not exist");
  if (!fs::is_directory(dir)) fail(directory, "is not a directory (a checkpoint is a directory)");

  Checkpoint checkpoint;
  checkpoint.directory_ = directory;
  checkpoint.config_ = Config::load((dir / "config.json").string());
  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(single)) {
    checkpoint.files_.push_back(SafetensorsFile::open(single.string()));
  } else if (fs::exists(index)) {
    checkpoint.files_ = open_shards(dir, index.string());
  } else {
    std::string hint;
    if (fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json"))
      hint = " (pytorch_model.bin is not read: pickle can run code; convert to safetensors)";
    fail(directory, "no model.safetensors or model.safetensors.index.json" + hint);
  }
  checkpoint.build_index();
  return checkpoint;
}

void Checkpoint::build_index() {
  index_.clear();
  for (std::size_t i = 0; i < files_.size(); ++i)
    for (const auto& [name, view] : files_[i].tensors()) {
      auto [it, inserted] = index_.emplace(name, std::make_pair(i, &view));
      if (!inserted)
        fail(tensor_in(files_[i].path(), name), "also in " + files_[it->second.first].path());
    }
}

Checkpoint::Checkpoint(const Checkpoint& other)
    : directory_(other.directory_), config_(other.config_), files_(other.files_),
      used_(other.used_) {
  build_index();
}

Checkpoint& Checkpoint::operator=(const Checkpoint& other) {
  if (this != &other) {
    directory_ = other.directory_;
    config_ = other.config_;
    files_ = other.files_;
    used_ = other.used_;
    build_index();
  }
  return *this;
}

}  // namespace mechlens::checkpoint
