#include "shardrec/data/sequence_data.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "line_reader.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {
namespace {

using data_internal::LineReader;
using Reason = SequenceMalformedReason;

constexpr std::string_view kCsvHeader = "userId,movieId,rating,timestamp";
constexpr int kRatingFields = 4;

struct Failure {
  Reason reason = Reason::kFieldCount;
  std::string message;
};

bool Fail(Failure* failure, Reason reason, std::string message) {
  failure->reason = reason;
  failure->message = std::move(message);
  return false;
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

// Overflow is told apart from junk: "out of range" points at ids that need a
// mapping, "bad integer" at a wrong separator or format.
template <typename T>
bool ParseInteger(std::string_view s, const char* what, T* out, Failure* failure) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::invalid_argument || ptr != s.data() + s.size())
    return Fail(failure, Reason::kBadInteger, Str(what, " is not an integer: ", Quote(s)));
  if (ec == std::errc::result_out_of_range)
    return Fail(failure, Reason::kOutOfRange, Str(what, " does not fit in 64 bits: ", Quote(s)));
  return true;
}

bool ParseId(std::string_view s, const char* what, uint64_t* out, Failure* failure) {
  if (!ParseInteger(s, what, out, failure)) return false;
  if (*out == 0) {
    const bool item = std::string_view(what) == "item id";
    return Fail(failure, Reason::kZeroId,
                Str(what, " is 0; ids start at 1", item ? " (item 0 stands for \"no item\" in batches)" : ""));
  }
  return true;
}

// Ratings are not used, only checked: "4", "3.5" (MovieLens 20M has halves).
bool CheckRating(std::string_view s, Failure* failure) {
  size_t digits = 0;
  size_t dots = 0;
  bool ok = !s.empty() && s.front() != '.' && s.back() != '.';
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '.') {
      ++dots;
    } else {
      ok = false;
    }
  }
  if (!ok || digits == 0 || dots > 1)
    return Fail(failure, Reason::kBadRating, Str("rating is not a decimal number: ", Quote(s)));
  return true;
}

// Splits on `sep`; returns the field count (fields past `out`'s size are only counted).
int Split(std::string_view line, std::string_view sep, std::array<std::string_view, kRatingFields>* out) {
  int n = 0;
  for (;;) {
    const size_t at = line.find(sep);
    if (n < kRatingFields) (*out)[n] = line.substr(0, at);
    ++n;
    if (at == std::string_view::npos) return n;
    line.remove_prefix(at + sep.size());
  }
}

struct Rating {
  uint64_t user = 0;
  uint64_t item = 0;
  int64_t time = 0;
};

bool ParseRating(std::string_view line, config::SequenceFormat format, Rating* r, Failure* failure) {
  std::string_view sep = "\t";
  const char* layout = "tab-separated";
  if (format == config::MOVIELENS_DAT) {
    sep = "::";
    layout = "'::'-separated";
  } else if (format == config::MOVIELENS_CSV) {
    sep = ",";
    layout = "comma-separated";
  }
  std::array<std::string_view, kRatingFields> f;
  const int n = Split(line, sep, &f);
  if (n != kRatingFields) {
    return Fail(failure, Reason::kFieldCount,
                Str("expected ", kRatingFields, " ", layout, " fields (user, item, rating, time), got ", n));
  }
  return ParseId(f[0], "user id", &r->user, failure) && ParseId(f[1], "item id", &r->item, failure) &&
         CheckRating(f[2], failure) && ParseInteger(f[3], "timestamp", &r->time, failure);
}

// ITEM_LINES: the user and its items, split on runs of spaces and tabs.
bool ParseItemLine(std::string_view line, uint64_t* user, std::vector<uint64_t>* items, Failure* failure) {
  items->clear();
  bool have_user = false;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    const std::string_view field = line.substr(i, j - i);
    if (!have_user) {
      if (!ParseId(field, "user id", user, failure)) return false;
      have_user = true;
    } else {
      uint64_t item = 0;
      if (!ParseId(field, "item id", &item, failure)) return false;
      items->push_back(item);
    }
    i = j;
  }
  if (!have_user) return Fail(failure, Reason::kFieldCount, "empty line; expected 'user item1 item2 ...'");
  if (items->empty()) return Fail(failure, Reason::kFieldCount, Str("user ", *user, " has no items"));
  return true;
}

// Applies the malformed-line policy: throws under ERROR, counts under SKIP.
class Rejecter {
 public:
  Rejecter(const std::string& path, config::MalformedPolicy policy) : path_(path), policy_(policy) {}

  void Reject(uint64_t line_number, const Failure& failure) {
    if (policy_ == config::ERROR) {
      SR_THROW() << path_ << ":" << line_number + 1 << ": " << SequenceMalformedReasonName(failure.reason) << ": "
                 << failure.message;
    }
    ++counts_[static_cast<int>(failure.reason)];
  }

  void Fill(DataStats* stats) const {
    stats->malformed_skipped = 0;
    stats->malformed_by_reason.clear();
    for (int r = 0; r < static_cast<int>(Reason::kNumReasons); ++r) {
      stats->malformed_skipped += counts_[r];
      if (counts_[r] != 0)
        stats->malformed_by_reason.emplace_back(SequenceMalformedReasonName(static_cast<Reason>(r)), counts_[r]);
    }
  }

 private:
  const std::string& path_;
  config::MalformedPolicy policy_;
  std::array<uint64_t, static_cast<int>(Reason::kNumReasons)> counts_{};
};

std::string_view TrimCr(std::string_view s) {
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

Failure Overlong(const LineReader::Line& line, size_t bound) {
  return Failure{Reason::kOverlongLine, Str("line has ", line.length, " bytes (at most ", bound, ")")};
}

void ReadItemLines(const std::string& path, Rejecter* rejecter, SequenceDataset* ds) {
  LineReader reader(path, kItemLinesMaxLineBytes);
  LineReader::Line line;
  Failure failure;
  std::unordered_map<uint64_t, uint64_t> line_of_user;  // for the duplicate message
  uint64_t user = 0;
  std::vector<uint64_t> items;
  while (reader.Next(&line)) {
    ++ds->stats.lines_read;
    if (line.overlong) {
      rejecter->Reject(line.number, Overlong(line, kItemLinesMaxLineBytes));
      continue;
    }
    if (!ParseItemLine(TrimCr(line.text), &user, &items, &failure)) {
      rejecter->Reject(line.number, failure);
      continue;
    }
    const auto [it, inserted] = line_of_user.emplace(user, line.number);
    if (!inserted) {
      // Two lines cannot be merged: nothing says which one came first in time.
      rejecter->Reject(line.number, Failure{Reason::kDuplicateUser,
                                            Str("user ", user, " already has a line (line ", it->second + 1, ")")});
      continue;
    }
    UserHistory h;
    h.user = user;
    h.items = items;
    h.timestamps.assign(items.size(), 0);
    ds->users.push_back(std::move(h));
  }
}

void ReadRatings(const std::string& path, config::SequenceFormat format, Rejecter* rejecter, SequenceDataset* ds) {
  LineReader reader(path, kRatingLineMaxBytes);
  LineReader::Line line;
  if (format == config::MOVIELENS_CSV) {
    // A missing header means the wrong file or format: an error under any policy.
    const bool got = reader.Next(&line);
    if (!got || line.overlong || TrimCr(line.text) != kCsvHeader) {
      SR_THROW() << path << ":1: a MOVIELENS_CSV file starts with the header '" << kCsvHeader << "', got "
                 << (got ? (line.overlong ? std::string("an overlong line") : Quote(TrimCr(line.text)))
                         : std::string("an empty file"));
    }
  }
  std::unordered_map<uint64_t, size_t> index_of_user;
  Failure failure;
  Rating r;
  while (reader.Next(&line)) {
    ++ds->stats.lines_read;
    if (line.overlong) {
      rejecter->Reject(line.number, Overlong(line, kRatingLineMaxBytes));
      continue;
    }
    if (!ParseRating(TrimCr(line.text), format, &r, &failure)) {
      rejecter->Reject(line.number, failure);
      continue;
    }
    const auto [it, inserted] = index_of_user.emplace(r.user, ds->users.size());
    if (inserted) {
      ds->users.emplace_back();
      ds->users.back().user = r.user;
    }
    UserHistory& h = ds->users[it->second];
    h.items.push_back(r.item);
    h.timestamps.push_back(r.time);
  }
  // Stable: interactions with the same timestamp keep the file's order.
  std::vector<size_t> order;
  std::vector<uint64_t> items;
  std::vector<int64_t> times;
  for (UserHistory& h : ds->users) {
    if (std::is_sorted(h.timestamps.begin(), h.timestamps.end())) continue;
    order.resize(h.items.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&h](size_t a, size_t b) { return h.timestamps[a] < h.timestamps[b]; });
    items.clear();
    times.clear();
    for (size_t i : order) {
      items.push_back(h.items[i]);
      times.push_back(h.timestamps[i]);
    }
    h.items.swap(items);
    h.timestamps.swap(times);
  }
}

// Drops short users and sums up what is left.
void Finish(uint32_t min_length, SequenceDataset* ds) {
  std::sort(ds->users.begin(), ds->users.end(),
            [](const UserHistory& a, const UserHistory& b) { return a.user < b.user; });
  const auto short_user = [min_length](const UserHistory& h) { return h.items.size() < min_length; };
  const auto kept_end = std::remove_if(ds->users.begin(), ds->users.end(), short_user);
  ds->users_dropped = static_cast<uint64_t>(ds->users.end() - kept_end);
  ds->users.erase(kept_end, ds->users.end());

  for (const UserHistory& h : ds->users) {
    ds->interactions += h.items.size();
    for (uint64_t item : h.items) ds->max_item_id = std::max(ds->max_item_id, item);
  }
  // Ids are usually dense (1..items): a bitmap then beats a hash set by far.
  if (ds->max_item_id <= 64 * ds->interactions + 1024) {
    std::vector<bool> seen(ds->max_item_id + 1, false);
    for (const UserHistory& h : ds->users) {
      for (uint64_t item : h.items) {
        if (!seen[item]) {
          seen[item] = true;
          ++ds->num_items;
        }
      }
    }
  } else {
    std::unordered_set<uint64_t> seen;
    for (const UserHistory& h : ds->users) seen.insert(h.items.begin(), h.items.end());
    ds->num_items = seen.size();
  }
}

const char* FormatName(config::SequenceFormat format) {
  switch (format) {
    case config::ITEM_LINES: return "ITEM_LINES";
    case config::MOVIELENS_TAB: return "MOVIELENS_TAB";
    case config::MOVIELENS_DAT: return "MOVIELENS_DAT";
    case config::MOVIELENS_CSV: return "MOVIELENS_CSV";
    default: break;
  }
  return "unknown";
}

void CheckLeaveOneOut(const UserHistory& user) {
  if (user.items.size() < kMinLeaveOneOutLength) {
    SR_THROW() << "data: user " << user.user << " has " << user.items.size() << " items; leave-one-out needs at least "
               << kMinLeaveOneOutLength << " (training, validation and test items): raise data.sequence.min_length";
  }
}

}  // namespace

const char* SequenceMalformedReasonName(SequenceMalformedReason reason) {
  switch (reason) {
    case Reason::kFieldCount: return "wrong field count";
    case Reason::kBadInteger: return "bad integer";
    case Reason::kOutOfRange: return "out of range";
    case Reason::kZeroId: return "zero id";
    case Reason::kBadRating: return "bad rating";
    case Reason::kDuplicateUser: return "duplicate user";
    case Reason::kOverlongLine: return "overlong line";
    case Reason::kNumReasons: break;
  }
  return "unknown";
}

SequenceDataset ReadSequenceDataset(const std::string& path, config::SequenceFormat format, uint32_t min_length,
                                    config::MalformedPolicy malformed) {
  SequenceDataset ds;
  Rejecter rejecter(path, malformed);
  switch (format) {
    case config::ITEM_LINES: ReadItemLines(path, &rejecter, &ds); break;
    case config::MOVIELENS_TAB:
    case config::MOVIELENS_DAT:
    case config::MOVIELENS_CSV:
      ReadRatings(path, format, &rejecter, &ds);
      ds.has_timestamps = true;
      break;
    default: SR_THROW() << path << ": unknown sequence format " << static_cast<int>(format);
  }
  rejecter.Fill(&ds.stats);
  Finish(min_length, &ds);
  if (ds.users.empty()) {
    SR_THROW() << path << ": no user with at least " << min_length << " interactions (" << FormatName(format) << ", "
               << ds.stats.lines_read << " lines read, " << ds.stats.malformed_skipped << " malformed skipped, "
               << ds.users_dropped << " users dropped as too short)";
  }
  return ds;
}

const char* SequenceSplitName(SequenceSplit split) {
  return split == SequenceSplit::kValidation ? "validation" : "test";
}

size_t TrainingLength(const UserHistory& user) {
  CheckLeaveOneOut(user);
  return user.items.size() - 2;
}

size_t HistoryLength(const UserHistory& user, SequenceSplit split) {
  CheckLeaveOneOut(user);
  return user.items.size() - (split == SequenceSplit::kValidation ? 2 : 1);
}

uint64_t HeldOutItem(const UserHistory& user, SequenceSplit split) { return user.items[HistoryLength(user, split)]; }

}  // namespace shardrec
