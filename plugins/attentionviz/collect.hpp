#pragma once
// Queries and keys of chosen heads at every token position of every input,
// read through hooks, with the model's own attention pattern beside them.
//
// The vectors are the ones that meet in the dot product: after rotary
// (attn.hook_rot_q / hook_rot_k) where the model has those hook points,
// attn.hook_q / hook_k otherwise (BERT). Under GQA query head h reads KV
// head h / (n_heads / n_kv_heads); its keys are that KV head's keys.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace attentionviz {

// Every token position of every input, in input order: point i is the query
// at that position, point N + i the key.
struct Tokens {
  std::vector<std::int64_t> input, position, id;
  std::vector<std::string> text;
  std::vector<std::int64_t> start;  // first token of each input; start.back() = N
  std::vector<at::Tensor> allowed;  // per input [T, T] bool: keys each query may attend to
  std::int64_t size() const { return start.back(); }
  std::int64_t length(std::size_t b) const { return start[b + 1] - start[b]; }
};

// One query head's vectors over all tokens (float64, CPU).
struct HeadVectors {
  int layer = 0, head = 0;
  at::Tensor q;                     // [N, d_head]
  at::Tensor k;                     // [N, d_head], the KV head this head reads
  std::vector<at::Tensor> pattern;  // per input [T, T], the model's own (hook_pattern)
};

struct Collected {
  Tokens tokens;
  std::vector<HeadVectors> heads;  // layer-major: heads[li * n_heads_chosen + hi]
  std::string q_hook, k_hook;      // hook names without "blocks.L." ("attn.hook_rot_q", ...)
  double score_scale = 1.0;        // 1/sqrt(d_head), the scale the scores carry
};

Collected collect(const mechlens::Model& model, const std::vector<mechlens::EncodedInput>& inputs,
                  const std::vector<int>& layers, const std::vector<int>& heads);

}  // namespace attentionviz
