#include "tokenize/unicode_normalizer.hpp"

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include <cstdlib>

#include "mechlens/error.hpp"

namespace mechlens::tokenize {
namespace {

void add_forms(const nlohmann::json& node, const std::string& where, std::vector<UnicodeNormalizer::Form>& out) {
  using Form = UnicodeNormalizer::Form;
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "Sequence") {
    if (!node.contains("normalizers") || !node["normalizers"].is_array())
      fail(where, "normalizer Sequence without a 'normalizers' list");
    for (const auto& child : node["normalizers"]) add_forms(child, where, out);
  } else if (type == "NFC") {
    out.push_back(Form::nfc);
  } else if (type == "NFD") {
    out.push_back(Form::nfd);
  } else if (type == "NFKC") {
    out.push_back(Form::nfkc);
  } else if (type == "NFKD") {
    out.push_back(Form::nfkd);
  } else {
    fail(where, "normalizer type '" + type + "' is not supported for byte-level BPE (NFC, NFD, NFKC, NFKD, Sequence, null)");
  }
}

utf8proc_option_t options_of(UnicodeNormalizer::Form form) {
  using Form = UnicodeNormalizer::Form;
  switch (form) {
    case Form::nfc: return static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    case Form::nfd: return static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
    case Form::nfkc: return static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    case Form::nfkd: return static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  }
  return UTF8PROC_STABLE;
}

bool ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

UnicodeNormalizer UnicodeNormalizer::from_json(const nlohmann::json& node, const std::string& where) {
  UnicodeNormalizer n;
  add_forms(node, where, n.forms_);
  return n;
}

std::string UnicodeNormalizer::apply(const std::string& text) const {
  // ASCII is invariant under every normal form: the common case costs a scan.
  if (forms_.empty() || ascii(text)) return text;
  std::string current = text;
  for (Form form : forms_) {
    utf8proc_uint8_t* out = nullptr;
    // An explicit length (no NULLTERM) so that U+0000 in the text is kept.
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(current.data()),
                                            static_cast<utf8proc_ssize_t>(current.size()), &out, options_of(form));
    if (n < 0) fail("tokenize", std::string("Unicode normalisation failed: ") + utf8proc_errmsg(n));
    current.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
    std::free(out);
  }
  return current;
}

}  // namespace mechlens::tokenize
