#include "agreement_grammar.hpp"

#include <algorithm>

#include "mechlens/error.hpp"

namespace mechlens::toys {

namespace {

// Uniform in [0, n) from the raw engine output: the same on every standard
// library (std::uniform_int_distribution is implementation-defined).
int pick(std::mt19937_64& rng, std::size_t n) { return static_cast<int>(rng() % n); }
bool chance(std::mt19937_64& rng, double p) { return static_cast<double>(rng() >> 11) / 9007199254740992.0 < p; }

}  // namespace

AgreementGrammar AgreementGrammar::standard() {
  AgreementGrammar g;
  g.nouns = {{"dog", "dogs"},   {"cat", "cats"},     {"bird", "birds"}, {"horse", "horses"}, {"fox", "foxes"},
             {"child", "children"}, {"man", "men"}, {"girl", "girls"}, {"boy", "boys"},     {"king", "kings"}};
  g.verbs = {{"runs", "run", "fast"},       {"sleeps", "sleep", "soundly"}, {"sings", "sing", "loudly"},
             {"waits", "wait", "patiently"}, {"jumps", "jump", "high"},      {"eats", "eat", "quickly"}};
  g.adjectives = {"big", "small", "old", "young", "red", "happy", "quiet", "brown"};
  g.prepositions = {"near", "behind", "with", "beside", "under"};
  return g;
}

std::vector<std::string> AgreementGrammar::vocabulary() const {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "the"};
  for (const auto& [s, p] : nouns) v.push_back(s), v.push_back(p);
  for (const auto& verb : verbs) v.push_back(verb.singular), v.push_back(verb.plural), v.push_back(verb.adverb);
  for (const auto* list : {&adjectives, &prepositions}) v.insert(v.end(), list->begin(), list->end());
  return v;
}

nlohmann::json AgreementGrammar::to_json() const {
  const auto pairs = [](const std::vector<std::pair<std::string, std::string>>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [s, p] : list) out.push_back({{"singular", s}, {"plural", p}});
    return out;
  };
  nlohmann::json v = nlohmann::json::array();
  for (const auto& verb : verbs) v.push_back({{"singular", verb.singular}, {"plural", verb.plural}, {"adverb", verb.adverb}});
  return {{"pattern", "the (adj){0,2} NOUN (PREP the (adj){0,1} NOUN){0,2} VERB ADVERB ."},
          {"nouns", pairs(nouns)},
          {"verbs", v},
          {"adjectives", adjectives},
          {"prepositions", prepositions}};
}

std::string AgreementSentence::text() const {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

AgreementSentence sample_sentence(const AgreementGrammar& g, std::mt19937_64& rng) {
  const std::vector<std::string> vocab = g.vocabulary();
  AgreementSentence s;
  const auto word = [&](const std::string& w) {
    const auto it = std::find(vocab.begin(), vocab.end(), w);
    if (it == vocab.end()) fail("agreement grammar", "word '" + w + "' is not in the vocabulary");
    s.words.push_back(w);
    s.ids.push_back(it - vocab.begin());
  };
  const auto noun = [&](bool plural) {
    const auto& n = g.nouns[pick(rng, g.nouns.size())];
    word(plural ? n.second : n.first);
  };
  const auto adjectives = [&](int most) {
    const int count = pick(rng, most + 1);
    for (int i = 0; i < count; ++i) word(g.adjectives[pick(rng, g.adjectives.size())]);
  };

  word("the");
  adjectives(2);
  s.plural = chance(rng, 0.5);
  s.subject = static_cast<int>(s.words.size());
  noun(s.plural);
  // Phrases: none 20 %, one 50 %, two 30 % of sentences.
  const int r = chance(rng, 0.2) ? 0 : (chance(rng, 0.625) ? 1 : 2);
  bool nearest_plural = s.plural;
  for (int p = 0; p < r; ++p) {
    word(g.prepositions[pick(rng, g.prepositions.size())]);
    word("the");
    adjectives(1);
    nearest_plural = chance(rng, 0.5);
    s.distractors.push_back(static_cast<int>(s.words.size()));
    noun(nearest_plural);
  }
  s.attractor = nearest_plural != s.plural;
  s.lemma = pick(rng, g.verbs.size());
  s.verb = static_cast<int>(s.words.size());
  word(s.plural ? g.verbs[s.lemma].plural : g.verbs[s.lemma].singular);
  word(g.verbs[s.lemma].adverb);
  word(".");
  return s;
}

}  // namespace mechlens::toys
