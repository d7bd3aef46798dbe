#pragma once
// The toy BERT: a 2-layer BertForMaskedLM trained with masked-language
// modelling on the agreement grammar (agreement_grammar.hpp). A masked verb
// takes its number from the subject noun across distractor nouns, and its
// lemma from the adverb after it. The trainer finds the head that carries the
// subject's number to the [MASK] (attention from the masked verb to the
// subject, and the accuracy lost when the head is zeroed) and records it
// beside the checkpoint (mechanisms.json), so tests can check analyses
// against it.
#include <cstdint>
#include <string>

namespace mechlens::toys {

struct GrammarBertOptions {
  int steps = 1500;
  int batch = 64;
  double lr = 3e-3;
  double verb_mask = 0.5;       // chance the verb is masked in a training sentence
  double token_mask = 0.15;     // chance each other word is masked (BERT's rate)
  double head_sparsity = 2e-3;  // group-lasso weight on per-head attention.output.dense slices
  std::uint64_t seed = 1;
};

// Writes the trained checkpoint (config.json, model.safetensors, vocab.txt,
// tokenizer_config.json, mechanisms.json) into `directory`. Prints progress
// to stderr.
void train_grammar_bert(const std::string& directory, const GrammarBertOptions& options);

}  // namespace mechlens::toys
