#pragma once
// The BertForMaskedLM tensor names of a BertWeights, so that the toy trainer
// can make them trainable and write them back in the Hugging Face layout.
#include <string>
#include <utility>
#include <vector>

#include "models/bert/bert_weights.hpp"

namespace mechlens::toys {

// (name, tensor) for every parameter the forward uses, the ones to train;
// the tied decoder weight is not listed (it is the word embeddings). Names
// are the checkpoint's, except each layer's stacked q/k/v projection
// ("attention.self.qkv").
std::vector<std::pair<std::string, at::Tensor*>> named_parameters(models::bert::BertWeights& w);

// The same values under the checkpoint's names, q/k/v split again: what to save.
std::vector<std::pair<std::string, at::Tensor>> checkpoint_tensors(models::bert::BertWeights& w);

// Replaces every parameter by a fresh trainable copy (re-tying the decoder).
void make_trainable(models::bert::BertWeights& w);

}  // namespace mechlens::toys
