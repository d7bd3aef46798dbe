// The built-in vocabulary of tiny BERT checkpoints.
#include <algorithm>
#include <sstream>

#include "tiny_bert.hpp"

namespace mechlens::tiny {

const std::vector<std::string>& tiny_bert_vocab() {
  static const std::vector<std::string> vocab = [] {
    std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (const char* p : {".", ",", "!", "?", "'", "\"", "-", ":", ";", "(", ")", "/", "&", "%", "$"}) v.push_back(p);
    for (char c = '0'; c <= '9'; ++c) v.push_back(std::string(1, c));
    for (char c = 'a'; c <= 'z'; ++c) v.push_back(std::string(1, c));
    std::istringstream words(
        "the of and to in is was for on that with as by at from it his an be are were which this or had "
        "not but also first their one has its after new who they two her she he been other when there all "
        "during into school time may years more most only over city some world would where later up such "
        "used many can state about national out known university united then made between part would "
        "capital france paris germany berlin italy rome spain madrid england london japan tokyo china "
        "country river mountain sea king queen man woman boy girl child dog cat bird fish horse house car "
        "red blue green yellow black white big small good bad old young long short high low "
        "go went come came see saw make take give get know think say said look find tell ask work "
        "day night year week morning water fire earth air sun moon star tree book door room "
        "i you we me him us them my your our what how why who whom whose very much many "
        "play ##s ##ed ##ing ##ly ##er ##est ##ion ##al ##ness ##ful");
    for (std::string w; words >> w;) v.push_back(w);
    for (char c = 'a'; c <= 'z'; ++c) v.push_back("##" + std::string(1, c));
    for (char c = '0'; c <= '9'; ++c) v.push_back("##" + std::string(1, c));
    // No duplicates: a vocabulary maps each token to one id.
    std::vector<std::string> unique;
    for (const auto& t : v)
      if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(t);
    return unique;
  }();
  return vocab;
}

}  // namespace mechlens::tiny
