#pragma once
// The grammar of the toy BERT: subject–verb number agreement across
// prepositional distractors (Linzen et al. 2016; Goldberg 2019 for BERT),
//   the (adj){0,2} NOUN (PREP the (adj){0,1} NOUN){0,2} VERB ADVERB .
// e.g. "the big dog near the cats runs fast ." Number is marked on the nouns
// and verbs only ("the" and the adjectives are number-neutral), the nouns'
// numbers are drawn independently, and nothing after the verb carries number:
// with the verb masked, its number is readable from the subject noun alone, a
// specific earlier token, while the distractor nouns between them tempt the
// "nearest noun" heuristic. Each verb has its own adverb ("runs fast",
// "sleeps soundly"), so the masked verb's lemma comes from the next token and
// its form from the subject: the exact word is predictable.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mechlens::toys {

struct AgreementGrammar {
  std::vector<std::pair<std::string, std::string>> nouns;  // (singular, plural)
  struct Verb {
    std::string singular, plural, adverb;  // "runs", "run", "fast"
  };
  std::vector<Verb> verbs;
  std::vector<std::string> adjectives, prepositions;

  static AgreementGrammar standard();
  // [PAD] [UNK] [CLS] [SEP] [MASK] . the, then every word above: each word
  // is one WordPiece token.
  std::vector<std::string> vocabulary() const;
  nlohmann::json to_json() const;
};

// One sentence as vocabulary ids (no [CLS]/[SEP]) and where its parts are.
struct AgreementSentence {
  std::vector<std::int64_t> ids;
  std::vector<std::string> words;
  int subject = 0;                // word index of the subject noun
  int verb = 0;                   // word index of the verb
  std::vector<int> distractors;   // word indices of the nouns inside the prepositional phrases
  bool plural = false;            // the subject's (and so the verb's) number
  int lemma = 0;                  // index into verbs
  bool attractor = false;         // the noun nearest the verb has the other number
  std::string text() const;       // words joined by spaces
};

// Draws sentences; `rng` seeded the same gives the same sentences.
AgreementSentence sample_sentence(const AgreementGrammar& g, std::mt19937_64& rng);

}  // namespace mechlens::toys
