#pragma once
// The BertForMaskedLM tensor names of a BertWeights, so that the toy trainer
// can make them trainable and write them back in the Hugging Face layout.
#include <string>
#include <utility>
#include <vector>

#include "models/bert/bert_weights.hpp"

namespace mechlens::toys {

// (checkpoint name, tensor) for every parameter the forward uses; the tied
// decoder weight is not listed (it is the word embeddings).
std::vector<std::pair<std::string, at::Tensor*>> named_parameters(models::bert::BertWeights& w);

// Replaces every parameter by a fresh trainable copy (re-tying the decoder).
void make_trainable(models::bert::BertWeights& w);

}  // namespace mechlens::toys
