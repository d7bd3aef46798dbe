// Byte-mutation fuzzing of the tokenizers (issue 9): WordPiece (BERT) and the
// byte-level BPE (Qwen2) take any bytes, valid UTF-8 or not, and either
// tokenize or fail with mechlens::Error; ids stay inside the vocabulary.
#include <gtest/gtest.h>

#include <random>

#include "bpe_fixture.hpp"
#include "byte_mutation.hpp"
#include "mechlens/error.hpp"
#include "tokenize/wordpiece.hpp"

namespace mechlens::tokenize {
namespace {

const std::string kSeedText =
    "The capital of France is [MASK]. Ünïcödé, 日本語, emoji 😀, tabs\tand\nnewlines, <|im_start|>user\n";

template <typename Tokenizer>
void fuzz(const Tokenizer& tokenizer, std::size_t vocab, const char* what) {
  int ok = 0;
  for (unsigned seed = 1; seed <= 3; ++seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
      const std::string text = mechlens::testing::mutate(kSeedText, rng, 1 + static_cast<int>(rng() % 6));
      try {
        const Encoding e = tokenizer.encode(text);
        for (auto id : e.ids) ASSERT_TRUE(id >= 0 && static_cast<std::size_t>(id) < vocab) << what << " id " << id;
        ++ok;
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << " seed " << seed << " iteration " << i << ": " << typeid(e).name() << ": " << e.what();
      }
    }
  }
  EXPECT_GT(ok, 0) << what;
}

TEST(TokenizerFuzz, WordPieceTakesAnyBytes) {
  const WordPiece wp = WordPiece::from_vocab_txt(test::fixture("bert-base-uncased-vocab.txt"), WordPiece::Options{});
  fuzz(wp, wp.vocab_size(), "wordpiece");
}

TEST(TokenizerFuzz, ByteLevelBpeTakesAnyBytes) {
  const BytePairEncoding& bpe = test::qwen2();
  fuzz(bpe, bpe.vocab_size(), "bpe");
}

}  // namespace
}  // namespace mechlens::tokenize
