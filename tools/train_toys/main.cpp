// train_toys: trains the toy models with planted mechanisms and writes them
// in Hugging Face layout (the committed checkpoints under experiments/toy/models
// come from here; same seed, same files).
//   train_toys induction OUT_DIR [--steps N] [--seed N]
//   train_toys shapes OUT_DIR [--steps N] [--seed N] [--data DIR]
//     (--data also writes the held-out shape images and annotations.json there)
//   train_toys grammar_bert OUT_DIR [--steps N] [--seed N]
#include <ATen/Parallel.h>

#include <iostream>
#include <string>

#include "grammar_bert.hpp"
#include "induction_text.hpp"
#include "mechlens/error.hpp"
#include "shapes_vlm.hpp"

int main(int argc, char** argv) {
  try {
    if (argc < 3) {
      std::cerr << "usage: train_toys induction OUT_DIR [--steps N] [--seed N]\n"
                   "       train_toys shapes OUT_DIR [--steps N] [--seed N] [--data DIR]\n"
                   "       train_toys grammar_bert OUT_DIR [--steps N] [--seed N]\n";
      return 2;
    }
    const std::string kind = argv[1], out = argv[2];
    mechlens::toys::InductionOptions options;
    mechlens::toys::ShapesOptions shapes;
    mechlens::toys::GrammarBertOptions grammar;
    for (int i = 3; i + 1 < argc; i += 2) {
      const std::string flag = argv[i];
      if (flag == "--steps") options.steps = shapes.steps = grammar.steps = std::stoi(argv[i + 1]);
      else if (flag == "--seed") options.seed = shapes.seed = grammar.seed = std::stoull(argv[i + 1]);
      else if (flag == "--data" && kind == "shapes") shapes.data_dir = argv[i + 1];
      else mechlens::fail("train_toys", "unknown option " + flag);
    }
    // One thread: the toys are too small to gain from two, and on a busy
    // machine OpenMP's spin-waiting makes two threads ten times slower.
    at::set_num_threads(1);
    if (kind == "induction") mechlens::toys::train_induction_model(out, options);
    else if (kind == "shapes") mechlens::toys::train_shapes_vlm(out, shapes);
    else if (kind == "grammar_bert") mechlens::toys::train_grammar_bert(out, grammar);
    else mechlens::fail("train_toys", "unknown toy '" + kind + "' (induction, shapes, grammar_bert)");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "train_toys: error: " << e.what() << "\n";
    return 1;
  }
}
