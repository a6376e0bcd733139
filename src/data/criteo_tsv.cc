#include "shardrec/data/criteo_tsv.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "batch_fill.h"
#include "line_reader.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {
namespace {

using data_internal::LineReader;

// Criteo's integer features are mostly small counts: a table makes the common
// case a load instead of a log1p call.
constexpr int kLog1pTableSize = 4096;
struct Log1pTable {
  float v[kLog1pTableSize];
  Log1pTable() {
    for (int i = 0; i < kLog1pTableSize; ++i) v[i] = static_cast<float>(std::log1p(static_cast<double>(i)));
  }
};
const Log1pTable kLog1p;

const char* FieldName(int field, char* buf) {
  if (field == 0) return "label";
  if (field <= kCriteoNumDense) {
    std::snprintf(buf, 8, "I%d", field);
  } else {
    std::snprintf(buf, 8, "C%d", field - kCriteoNumDense);
  }
  return buf;
}

// The offending field, quoted and shortened so a binary blob cannot flood a log.
std::string Quote(std::string_view s) {
  constexpr size_t kShown = 40;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  if (s.size() > kShown) out += "...";
  return out + "'";
}

bool Fail(ParseFailure* failure, MalformedReason reason, const std::string& message) {
  if (failure != nullptr) {
    failure->reason = reason;
    failure->message = message;
  }
  return false;
}

}  // namespace

const char* MalformedReasonName(MalformedReason reason) {
  switch (reason) {
    case MalformedReason::kFieldCount: return "wrong field count";
    case MalformedReason::kBadLabel: return "bad label";
    case MalformedReason::kBadInteger: return "bad integer";
    case MalformedReason::kBadHex: return "bad hex";
    case MalformedReason::kOverlongField: return "overlong field";
    case MalformedReason::kOverlongLine: return "overlong line";
    case MalformedReason::kNumReasons: break;
  }
  return "unknown";
}

uint64_t MalformedCounter::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts_) t += c;
  return t;
}

void MalformedCounter::Fill(DataStats* stats) const {
  stats->malformed_skipped = total();
  stats->malformed_by_reason.clear();
  for (int r = 0; r < static_cast<int>(MalformedReason::kNumReasons); ++r) {
    if (counts_[r] != 0)
      stats->malformed_by_reason.emplace_back(MalformedReasonName(static_cast<MalformedReason>(r)), counts_[r]);
  }
}

float CriteoDenseTransform(int64_t x) {
  if (x <= 0) return 0.0f;
  if (x < kLog1pTableSize) return kLog1p.v[x];
  return static_cast<float>(std::log1p(static_cast<double>(x)));
}

bool ParseCriteoLine(std::string_view line, CriteoRow* row, ParseFailure* failure) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kCriteoMaxLineBytes) {
    return Fail(failure, MalformedReason::kOverlongLine,
                Str("line has ", line.size(), " bytes (at most ", kCriteoMaxLineBytes, ")"));
  }
  // Split first so a short line is reported as such, not as its first bad field.
  std::array<std::string_view, kCriteoNumFields> f;
  const char* p = line.data();
  const char* const end = p + line.size();
  int n = 0;
  for (;;) {
    const char* tab = static_cast<const char*>(std::memchr(p, '\t', static_cast<size_t>(end - p)));
    const char* stop = tab != nullptr ? tab : end;
    if (n < kCriteoNumFields) f[n] = std::string_view(p, static_cast<size_t>(stop - p));
    ++n;
    if (tab == nullptr) break;
    p = tab + 1;
  }
  if (n != kCriteoNumFields) {
    return Fail(failure, MalformedReason::kFieldCount,
                Str("expected ", kCriteoNumFields, " tab-separated fields, got ", n));
  }
  char name[8];

  if (f[0].size() != 1 || (f[0][0] != '0' && f[0][0] != '1'))
    return Fail(failure, MalformedReason::kBadLabel, Str("label must be 0 or 1, got ", Quote(f[0])));
  row->label = f[0][0] == '1' ? 1.0f : 0.0f;

  row->dense_missing = 0;
  for (int i = 0; i < kCriteoNumDense; ++i) {
    const std::string_view s = f[1 + i];
    if (s.empty()) {
      row->dense[i] = 0.0f;
      row->dense_missing |= 1u << i;
      continue;
    }
    if (s.size() > kCriteoMaxIntChars) {
      return Fail(failure, MalformedReason::kOverlongField,
                  Str(FieldName(1 + i, name), " has ", s.size(), " characters (at most ", kCriteoMaxIntChars, ")"));
    }
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return Fail(failure, MalformedReason::kBadInteger,
                  Str(FieldName(1 + i, name), " is outside the 64-bit integer range: ", Quote(s)));
    }
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return Fail(failure, MalformedReason::kBadInteger, Str(FieldName(1 + i, name), " is not an integer: ", Quote(s)));
    }
    row->dense[i] = CriteoDenseTransform(v);
  }

  row->missing = 0;
  for (int i = 0; i < kCriteoNumSparse; ++i) {
    const int field = 1 + kCriteoNumDense + i;
    const std::string_view s = f[field];
    if (s.empty()) {
      row->missing |= 1u << i;
      row->ids[i] = 0;
      continue;
    }
    if (s.size() > kCriteoMaxHexDigits) {
      return Fail(
          failure, MalformedReason::kOverlongField,
          Str(FieldName(field, name), " has ", s.size(), " characters (at most ", kCriteoMaxHexDigits, " hex digits)"));
    }
    uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return Fail(failure, MalformedReason::kBadHex, Str(FieldName(field, name), " is not a hex id: ", Quote(s)));
    }
    if (v == ~uint64_t{0}) {
      return Fail(failure, MalformedReason::kBadHex,
                  Str(FieldName(field, name), " is ffffffffffffffff, which is reserved for a missing id"));
    }
    row->ids[i] = v;
  }
  return true;
}

// ---------------------------------------------------------------------------

class CriteoTsvSource::Impl {
 public:
  Impl(const std::string& path, const CriteoTsvOptions& options)
      : path_(path), options_(options), reader_(path, kCriteoMaxLineBytes) {
    ValidateSliceSpec(options.slice);
    ValidateHoldoutSplit(options.split);
    if (reader_.compressed()) {
      SR_THROW() << path_ << ": a compressed file cannot be read by rank slices; decompress it or convert it "
                 << "with 'shardrec-data convert'";
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) SR_THROW() << "cannot open '" << path << "': " << std::strerror(errno);
    step_ = options.slice.start_step;
    Skip(options.slice.start_step * options.slice.global_batch);
  }
  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool Next(Batch* out);
  DataStats stats() const {
    DataStats s;
    s.lines_read = lines_parsed_;
    malformed_.Fill(&s);
    return s;
  }

 private:
  struct LineRef {
    uint64_t offset;
    uint64_t length;
    uint64_t number;
    bool overlong;
  };

  bool NextSplitLine(LineRef* ref);
  void Skip(uint64_t lines);
  void ParseRange(size_t lo, size_t hi, Batch* out);
  void ReadAt(uint64_t offset, size_t bytes);
  void Reject(const LineRef& ref, const ParseFailure& failure);

  std::string path_;
  CriteoTsvOptions options_;
  LineReader reader_;
  int fd_ = -1;
  uint64_t step_ = 0;
  bool done_ = false;
  // Lines of the split in one pass over the file; known after the first end of file.
  uint64_t epoch_lines_ = 0;
  bool epoch_known_ = false;
  uint64_t lines_this_epoch_ = 0;
  std::vector<LineRef> table_;  // the current global batch's lines
  std::vector<char> chunk_;     // bytes of this rank's lines
  uint64_t lines_parsed_ = 0;
  MalformedCounter malformed_;
};

// Next line of the split, wrapping into the next epoch when the stream repeats.
bool CriteoTsvSource::Impl::NextSplitLine(LineRef* ref) {
  LineReader::Line line;
  for (;;) {
    if (!reader_.Next(&line)) {
      if (!epoch_known_) {
        epoch_known_ = true;
        epoch_lines_ = lines_this_epoch_;
      }
      if (!options_.slice.repeat) return false;
      if (epoch_lines_ == 0) SR_THROW() << path_ << ": no lines in the part of the file to train on";
      reader_.Rewind();
      lines_this_epoch_ = 0;
      continue;
    }
    if (!options_.split.Contains(line.number)) continue;
    ++lines_this_epoch_;
    *ref = LineRef{line.offset, line.length, line.number, line.overlong};
    return true;
  }
}

// Skipping is a scan without parsing; once an epoch's length is known, whole
// epochs are skipped by arithmetic.
void CriteoTsvSource::Impl::Skip(uint64_t lines) {
  LineRef ref;
  while (lines > 0) {
    const bool known_before = epoch_known_;
    if (!NextSplitLine(&ref)) {
      done_ = true;
      return;
    }
    --lines;
    if (!known_before && epoch_known_ && epoch_lines_ > 0) {
      // The line just read opened epoch 1; what remains is equivalent modulo an epoch.
      lines %= epoch_lines_;
    }
  }
}

void CriteoTsvSource::Impl::ReadAt(uint64_t offset, size_t bytes) {
  if (chunk_.size() < bytes) chunk_.resize(bytes);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t got = ::pread(fd_, chunk_.data() + done, bytes - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      SR_THROW() << path_ << ": read failed: " << std::strerror(errno);
    }
    if (got == 0) SR_THROW() << path_ << ": file shrank while it was being read";
    done += static_cast<size_t>(got);
  }
}

void CriteoTsvSource::Impl::Reject(const LineRef& ref, const ParseFailure& failure) {
  if (options_.malformed == config::ERROR) SR_THROW() << path_ << ":" << ref.number + 1 << ": " << failure.message;
  malformed_.Add(failure.reason);
}

void CriteoTsvSource::Impl::ParseRange(size_t lo, size_t hi, Batch* out) {
  // Contiguous lines are read with one pread each; a wrap back to the file's
  // start, or a chunk grown past the cap, begins a new read.
  constexpr uint64_t kMaxChunk = 8u << 20;
  CriteoRow row;
  ParseFailure failure;
  int64_t rows = 0;
  size_t i = lo;
  while (i < hi) {
    if (table_[i].overlong) {
      ++lines_parsed_;
      failure.reason = MalformedReason::kOverlongLine;
      failure.message = Str("line has ", table_[i].length, " bytes (at most ", kCriteoMaxLineBytes, ")");
      Reject(table_[i], failure);
      ++i;
      continue;
    }
    size_t j = i + 1;
    const uint64_t begin = table_[i].offset;
    while (j < hi && !table_[j].overlong && table_[j].offset > table_[j - 1].offset &&
           table_[j].offset + table_[j].length - begin <= kMaxChunk) {
      ++j;
    }
    const uint64_t stop = table_[j - 1].offset + table_[j - 1].length;
    ReadAt(begin, static_cast<size_t>(stop - begin));
    for (size_t k = i; k < j; ++k) {
      const LineRef& ref = table_[k];
      ++lines_parsed_;
      const std::string_view text(chunk_.data() + (ref.offset - begin), ref.length);
      if (!ParseCriteoLine(text, &row, &failure)) {
        Reject(ref, failure);
        continue;
      }
      out->dense.row(rows) = Eigen::Map<const RowVec<float>>(row.dense.data(), kCriteoNumDense);
      out->labels.push_back(row.label);
      for (int f = 0; f < kCriteoNumSparse; ++f) {
        JaggedIds& jag = out->sparse[f];
        if (row.has(f)) {
          jag.lengths.push_back(1);
          jag.values.push_back(row.ids[f]);
        } else {
          jag.lengths.push_back(0);
        }
      }
      ++rows;
    }
    i = j;
  }
  out->batch_size = rows;
}

bool CriteoTsvSource::Impl::Next(Batch* out) {
  if (done_) return false;
  const uint64_t g_full = options_.slice.global_batch;
  table_.clear();
  LineRef ref;
  while (table_.size() < g_full && NextSplitLine(&ref)) table_.push_back(ref);
  if (table_.empty()) {
    done_ = true;
    return false;
  }
  const uint64_t g = table_.size();
  if (g < g_full) done_ = true;  // only a non-repeating stream runs dry
  const int rank = options_.slice.rank;
  const int world = options_.slice.world;
  const size_t lo = SliceBegin(g, rank, world);
  const size_t hi = SliceBegin(g, rank + 1, world);
  data_internal::ResetBatch(out, static_cast<int64_t>(hi - lo), kCriteoNumDense, kCriteoNumSparse);
  ParseRange(lo, hi, out);
  data_internal::FinishBatch(out, out->batch_size, static_cast<int64_t>(step_ * g_full + lo));
  ++step_;
  return true;
}

CriteoTsvSource::CriteoTsvSource(const std::string& path, const CriteoTsvOptions& options)
    : impl_(std::make_unique<Impl>(path, options)) {}
CriteoTsvSource::~CriteoTsvSource() = default;
bool CriteoTsvSource::Next(Batch* out) { return impl_->Next(out); }
std::vector<uint64_t> CriteoTsvSource::cardinalities() const { return std::vector<uint64_t>(kCriteoNumSparse, 0); }
DataStats CriteoTsvSource::stats() const { return impl_->stats(); }

DataStats ScanCriteoTsv(const std::string& path) {
  LineReader reader(path, kCriteoMaxLineBytes);
  LineReader::Line line;
  CriteoRow row;
  ParseFailure failure;
  MalformedCounter malformed;
  DataStats stats;
  while (reader.Next(&line)) {
    ++stats.lines_read;
    if (line.overlong) {
      malformed.Add(MalformedReason::kOverlongLine);
    } else if (!ParseCriteoLine(line.text, &row, &failure)) {
      malformed.Add(failure.reason);
    }
  }
  malformed.Fill(&stats);
  return stats;
}

}  // namespace shardrec
