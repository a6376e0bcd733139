// Raw Criteo text (label \t I1..I13 \t C1..C26): the line parser and a
// SampleSource that reads this rank's lines of each global batch.
//
// Conventions (shared with the binary format):
//  - dense value = log(1 + max(x, 0)); an empty integer field is 0.
//  - a categorical is 1..16 hex digits, read as a uint64. An empty categorical
//    is a bag of length 0 for that feature (no id is invented for it). The id
//    ffffffffffffffff is reserved (kMissingId in binary files) and rejected.
//  - a trailing '\r' is ignored, so CRLF files read the same.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.pb.h"
#include "shardrec/data/slicing.h"
#include "shardrec/data/source.h"

namespace shardrec {

inline constexpr int kCriteoNumDense = 13;
inline constexpr int kCriteoNumSparse = 26;
inline constexpr int kCriteoNumFields = 1 + kCriteoNumDense + kCriteoNumSparse;
// Real lines are a few hundred bytes; anything this long is garbage, and the
// bound keeps the reader's memory fixed.
inline constexpr size_t kCriteoMaxLineBytes = 64 * 1024;
// Longest integer field accepted: 19 digits and a sign cover int64.
inline constexpr size_t kCriteoMaxIntChars = 20;
inline constexpr size_t kCriteoMaxHexDigits = 16;

enum class MalformedReason : int {
  kFieldCount = 0,  // "wrong field count"
  kBadLabel,        // "bad label"
  kBadInteger,      // "bad integer"
  kBadHex,          // "bad hex"
  kOverlongField,   // "overlong field"
  kOverlongLine,    // "overlong line"
  kNumReasons
};
const char* MalformedReasonName(MalformedReason reason);

struct CriteoRow {
  float label = 0.0f;
  std::array<float, kCriteoNumDense> dense{};
  std::array<uint64_t, kCriteoNumSparse> ids{};  // meaningless where the feature is missing
  uint32_t missing = 0;                          // bit f set: categorical f was empty
  uint32_t dense_missing = 0;                    // bit i set: integer field I(i+1) was empty (dense[i] = 0)

  bool has(int f) const { return ((missing >> f) & 1u) == 0; }
};

struct ParseFailure {
  MalformedReason reason = MalformedReason::kFieldCount;
  std::string message;  // e.g. "expected 40 tab-separated fields, got 39"
};

// Parses one line (without its '\n'). On failure returns false and, when
// `failure` is non-null, says why; `row` is then unspecified.
bool ParseCriteoLine(std::string_view line, CriteoRow* row, ParseFailure* failure = nullptr);

// log(1 + max(x, 0)) as float; exact for every input (a table serves small x).
float CriteoDenseTransform(int64_t x);

// Malformed-line counts by reason.
class MalformedCounter {
 public:
  void Add(MalformedReason reason) { ++counts_[static_cast<int>(reason)]; }
  uint64_t count(MalformedReason reason) const { return counts_[static_cast<int>(reason)]; }
  uint64_t total() const;
  // Sets stats->malformed_skipped and malformed_by_reason (non-zero reasons, in enum order).
  void Fill(DataStats* stats) const;

 private:
  std::array<uint64_t, static_cast<int>(MalformedReason::kNumReasons)> counts_{};
};

struct CriteoTsvOptions {
  SliceSpec slice;
  HoldoutSplit split;  // which lines of the file form the stream
  config::MalformedPolicy malformed = config::ERROR;
};

// Reads an uncompressed Criteo TSV file. Each rank scans every line boundary
// (memchr over large reads) but parses only its own lines, re-read with pread.
//
// Stream position p is the p-th line of the split, so with policy SKIP a
// malformed line leaves a hole: the owning rank's slice is one sample shorter,
// and the union over ranks is still independent of the rank count. Errors read
// "path:line: reason" (1-based line numbers of the file). stats() counts only
// the lines this rank parsed, over all epochs: sum over ranks for file totals.
class CriteoTsvSource : public SampleSource {
 public:
  CriteoTsvSource(const std::string& path, const CriteoTsvOptions& options);
  ~CriteoTsvSource() override;

  bool Next(Batch* out) override;
  int num_dense() const override { return kCriteoNumDense; }
  int num_sparse() const override { return kCriteoNumSparse; }
  std::vector<uint64_t> cardinalities() const override;
  DataStats stats() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses every line of a Criteo TSV file (plain or gzip) and counts what it
// finds, malformed lines by reason, without stopping.
DataStats ScanCriteoTsv(const std::string& path);

}  // namespace shardrec
