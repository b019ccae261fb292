//===- PreTokenizer.cpp - Regex-equivalent word splitting -----------------===//
//
// Each splitting step below is one regular expression written out as the
// leftmost-first matcher a backtracking engine would run, over one piece of
// the text: a match never extends past the piece, so a lookahead such as
// \s+(?!\S) sees the piece's end as the end of the text.
//
//===----------------------------------------------------------------------===//

#include "PreTokenizer.h"

#include "Unicode.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace lowbit;
using namespace lowbit::unicode;

namespace {
/// The text decoded once: code point, class and byte offset of each
/// character; offsets has one more entry, the text's size.
struct Characters {
  std::vector<uint32_t> values;
  std::vector<uint8_t> classes;
  std::vector<size_t> offsets;

  explicit Characters(llvm::StringRef text) {
    values.reserve(text.size());
    classes.reserve(text.size());
    offsets.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
      uint32_t cp;
      size_t length = decodeUtf8(text, pos, cp);
      values.push_back(cp);
      classes.push_back(classify(cp));
      offsets.push_back(pos);
      pos += length;
    }
    offsets.push_back(text.size());
  }
  size_t size() const { return values.size(); }
};

/// Cuts one piece [begin, end) of the text: every match becomes a piece, and
/// so does every gap between matches. Appends the end of each new piece.
class Cutter {
public:
  Cutter(const Characters &chars, size_t begin, size_t end,
         std::vector<size_t> &ends)
      : chars(chars), begin(begin), end(end), ends(ends), last(begin) {}

  /// Ends the gap after the last match, if any.
  void finish() {
    if (last < end)
      ends.push_back(end);
    last = end;
  }

  void match(size_t from, size_t to) {
    assert(from >= last && to > from && to <= end && "matches must advance");
    if (from > last)
      ends.push_back(from);
    ends.push_back(to);
    last = to;
  }

  /// Whether character `i` exists in this piece and has a class in `mask`.
  bool is(size_t i, uint8_t mask) const {
    return i < end && (chars.classes[i] & mask);
  }
  /// Whether character `i` exists and is none of \s, \p{L}, \p{N}.
  bool isOther(size_t i) const {
    return i < end && !(chars.classes[i] & (whitespace | letter | number));
  }
  /// The code point at `i`, or kInvalid past the piece.
  uint32_t at(size_t i) const { return i < end ? chars.values[i] : kInvalid; }

  const Characters &chars;
  const size_t begin, end;

private:
  std::vector<size_t> &ends;
  size_t last;
};

bool isNewline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

/// Length of the contraction 's|'t|'re|'ve|'m|'ll|'d at `pos` (which holds an
/// apostrophe), or 0.
size_t contractionLength(const Cutter &cut, size_t pos, bool ignoreCase) {
  auto lowered = [&](size_t i) {
    uint32_t cp = cut.at(i);
    return ignoreCase && cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp;
  };
  uint32_t first = lowered(pos + 1);
  if (first == 's' || first == 't' || first == 'm' || first == 'd')
    return 2;
  uint32_t second = lowered(pos + 2);
  if ((first == 'r' && second == 'e') || (first == 'v' && second == 'e') ||
      (first == 'l' && second == 'l'))
    return 3;
  return 0;
}

/// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void splitGpt2(Cutter &cut) {
  for (size_t pos = cut.begin; pos < cut.end;) {
    auto take = [&](size_t to) {
      cut.match(pos, to);
      pos = to;
    };
    uint32_t cp = cut.at(pos);
    if (cp == '\'') {
      if (size_t length = contractionLength(cut, pos, /*ignoreCase=*/false)) {
        take(pos + length);
        continue;
      }
    }
    // The optional space of the next three alternatives.
    size_t start = cp == ' ' ? pos + 1 : pos;
    if (cut.is(start, letter) || cut.is(start, number)) {
      uint8_t cls = cut.chars.classes[start];
      size_t to = start;
      while (cut.is(to, cls))
        ++to;
      take(to);
      continue;
    }
    if (cut.isOther(start)) {
      size_t to = start;
      while (cut.isOther(to))
        ++to;
      take(to);
      continue;
    }
    // Here `cp` is whitespace. \s+(?!\S) backs off one character so that a
    // following word can take it as its leading space; \s+ takes a single one.
    size_t to = pos;
    while (cut.is(to, whitespace))
      ++to;
    take(to < cut.end && to - pos > 1 ? to - 1 : to);
  }
}

/// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void splitLlama3(Cutter &cut) {
  for (size_t pos = cut.begin; pos < cut.end;) {
    auto take = [&](size_t to) {
      cut.match(pos, to);
      pos = to;
    };
    uint32_t cp = cut.at(pos);
    if (cp == '\'') {
      if (size_t length = contractionLength(cut, pos, /*ignoreCase=*/true)) {
        take(pos + length);
        continue;
      }
    }
    bool canPrefix = !isNewline(cp) && !cut.is(pos, letter | number);
    if (cut.is(pos, letter) || (canPrefix && cut.is(pos + 1, letter))) {
      size_t to = pos + 1;
      while (cut.is(to, letter))
        ++to;
      take(to);
      continue;
    }
    if (cut.is(pos, number)) {
      size_t to = pos;
      while (to < pos + 3 && cut.is(to, number))
        ++to;
      take(to);
      continue;
    }
    size_t start = cp == ' ' ? pos + 1 : pos;
    if (cut.isOther(start)) {
      size_t to = start;
      while (cut.isOther(to))
        ++to;
      while (to < cut.end && isNewline(cut.at(to)))
        ++to;
      take(to);
      continue;
    }
    // Whitespace: through the last newline of the run if it has one (the
    // backtracking \s*[\r\n]+), else as in GPT-2.
    size_t to = pos, afterNewline = 0;
    for (; cut.is(to, whitespace); ++to)
      if (isNewline(cut.at(to)))
        afterNewline = to + 1;
    if (afterNewline)
      take(afterNewline);
    else
      take(to < cut.end && to - pos > 1 ? to - 1 : to);
  }
}

/// \p{N}: every number character on its own.
void isolateNumbers(Cutter &cut) {
  for (size_t pos = cut.begin; pos < cut.end; ++pos)
    if (cut.is(pos, number))
      cut.match(pos, pos + 1);
}

/// Every maximal run of characters satisfying `inRun` is one match.
template <typename Predicate> void isolateRuns(Cutter &cut, Predicate inRun) {
  for (size_t pos = cut.begin; pos < cut.end;) {
    if (!inRun(pos)) {
      ++pos;
      continue;
    }
    size_t to = pos;
    while (to < cut.end && inRun(to))
      ++to;
    cut.match(pos, to);
    pos = to;
  }
}

/// [\p{P}\$\+<=>\^~\|]+
void isolatePunctuationRuns(Cutter &cut) {
  isolateRuns(cut, [&](size_t i) {
    uint32_t cp = cut.at(i);
    return cut.is(i, punctuation) ||
           (cp < 128 && llvm::StringRef("$+<=>^~|").contains(char(cp)));
  });
}

/// \p{N}+
void isolateNumberRuns(Cutter &cut) {
  isolateRuns(cut, [&](size_t i) { return cut.is(i, number); });
}

/// [0-9][0-9][0-9], scanned from the left.
void isolateDigitTriples(Cutter &cut) {
  auto isDigit = [&](size_t i) {
    return i < cut.end && llvm::isDigit(static_cast<char>(cut.at(i)));
  };
  for (size_t pos = cut.begin; pos < cut.end;) {
    if (isDigit(pos) && isDigit(pos + 1) && isDigit(pos + 2)) {
      cut.match(pos, pos + 3);
      pos += 3;
    } else {
      ++pos;
    }
  }
}

using Step = void (*)(Cutter &);

llvm::ArrayRef<Step> getSteps(PreTokenizer::Kind kind) {
  static const Step gpt2[] = {splitGpt2};
  static const Step smollm[] = {isolateNumbers, splitGpt2};
  static const Step llama3[] = {splitLlama3};
  static const Step fallback[] = {isolatePunctuationRuns, splitGpt2,
                                  isolateNumberRuns, isolateDigitTriples};
  switch (kind) {
  case PreTokenizer::Kind::gpt2:
    return gpt2;
  case PreTokenizer::Kind::smollm:
    return smollm;
  case PreTokenizer::Kind::llama3:
    return llama3;
  case PreTokenizer::Kind::fallback:
    return fallback;
  }
  llvm_unreachable("unknown pre-tokenizer kind");
}

struct NamedKind {
  llvm::StringRef name;
  PreTokenizer::Kind kind;
};
constexpr NamedKind kNamedKinds[] = {
    {"default", PreTokenizer::Kind::fallback},
    {"gpt2", PreTokenizer::Kind::gpt2},
    {"smollm", PreTokenizer::Kind::smollm},
    {"llama3", PreTokenizer::Kind::llama3},
    {"llama-bpe", PreTokenizer::Kind::llama3},
};
} // namespace

llvm::ArrayRef<llvm::StringRef> PreTokenizer::getKnownNames() {
  static const std::vector<llvm::StringRef> names = [] {
    std::vector<llvm::StringRef> result;
    for (const NamedKind &named : kNamedKinds)
      result.push_back(named.name);
    return result;
  }();
  return names;
}

llvm::Expected<PreTokenizer> PreTokenizer::get(llvm::StringRef name) {
  for (const NamedKind &named : kNamedKinds)
    if (named.name == name)
      return PreTokenizer(named.kind);
  return llvm::createStringError(
      "unknown byte-level BPE pre-tokenizer '%s' (known: %s)",
      name.str().c_str(), llvm::join(getKnownNames(), ", ").c_str());
}

void PreTokenizer::split(llvm::StringRef text,
                         std::vector<llvm::StringRef> &words) const {
  if (text.empty())
    return;
  Characters chars(text);
  std::vector<size_t> ends = {chars.size()}, next;
  for (Step step : getSteps(kind)) {
    next.clear();
    size_t begin = 0;
    for (size_t end : ends) {
      Cutter cut(chars, begin, end, next);
      step(cut);
      cut.finish();
      begin = end;
    }
    std::swap(ends, next);
  }
  size_t begin = 0;
  for (size_t end : ends) {
    size_t from = chars.offsets[begin], to = chars.offsets[end];
    words.push_back(text.slice(from, to));
    begin = end;
  }
}
