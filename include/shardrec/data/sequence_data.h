// User histories for sequence models (next-item recommendation): reading the
// usual public files into per-user, time-ordered item lists, and the
// leave-one-out split the sequential-recommendation papers evaluate with.
//
// Formats (config::SequenceFormat):
//  - ITEM_LINES: `user item1 item2 ...`, one line per user, items already in
//    time order (the Amazon files of S3-Rec / ICLRec). Fields are separated by
//    runs of spaces or tabs. No timestamps: they are all 0.
//  - MOVIELENS_TAB `user\titem\trating\tunix_time` (100K u.data),
//    MOVIELENS_DAT `user::item::rating::unix_time` (1M, 10M ratings.dat),
//    MOVIELENS_CSV `userId,movieId,rating,timestamp` after exactly that header
//    line (20M, 25M ratings.csv). One interaction per line, any order; each
//    user's interactions are sorted by time with a stable sort, so ties keep
//    the file's order. Every rating is an interaction, whatever its value (as
//    in the HSTU paper); the rating is only checked to be a number.
// Users and items are positive integers: item 0 means "no item" in batches, so
// an id 0 is malformed, as is anything that does not fit in 64 bits. A
// trailing '\r' is ignored. Users come out in ascending id order in every
// format, so a dataset does not depend on the order of the file's lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/data/source.h"

namespace shardrec {

struct UserHistory {
  uint64_t user = 0;
  std::vector<uint64_t> items;      // in time order
  std::vector<int64_t> timestamps;  // per item, seconds; all 0 when the format has none
};

struct SequenceDataset {
  std::vector<UserHistory> users;  // ascending user id
  // Over the kept users (not those dropped for being short).
  uint64_t max_item_id = 0;
  uint64_t num_items = 0;  // distinct item ids
  uint64_t interactions = 0;
  uint64_t users_dropped = 0;  // users with fewer than min_length items
  bool has_timestamps = false;
  // lines_read counts the data lines (not the CSV header); malformed lines
  // skipped under MalformedPolicy SKIP are counted by reason.
  DataStats stats;
};

// Why a line was rejected; the names are the keys of DataStats::malformed_by_reason.
enum class SequenceMalformedReason : int {
  kFieldCount = 0,  // "wrong field count": also an empty line and a user without items
  kBadInteger,      // "bad integer": not a plain decimal integer (signs are not accepted for ids)
  kOutOfRange,      // "out of range": does not fit in 64 bits
  kZeroId,          // "zero id": user or item id 0
  kBadRating,       // "bad rating": MovieLens rating that is not a decimal number
  kDuplicateUser,   // "duplicate user": ITEM_LINES user on a second line
  kOverlongLine,    // "overlong line": longer than the format's bound (below)
  kNumReasons
};
const char* SequenceMalformedReasonName(SequenceMalformedReason reason);

// Longest accepted line: an ITEM_LINES line holds a whole history (some
// hundred thousand items fit); a MovieLens line is one short rating.
inline constexpr size_t kItemLinesMaxLineBytes = size_t{4} << 20;
inline constexpr size_t kRatingLineMaxBytes = 4096;

// Reads a whole file (plain or gzip) into memory. Users with fewer than
// `min_length` items are dropped and counted. A malformed line throws
// shardrec::Error "path:line: reason: detail" (1-based line) under policy
// ERROR and is skipped and counted under SKIP. Also throws when the file
// cannot be opened, when a CSV file does not start with its header (the wrong
// format, not a bad line), and when no user is left.
SequenceDataset ReadSequenceDataset(const std::string& path, config::SequenceFormat format, uint32_t min_length,
                                    config::MalformedPolicy malformed);

// Leave-one-out, the protocol of SASRec, S3-Rec and HSTU, for a user with
// items s[0..n), n >= 3:
//   training:   the sequence s[0..n-2) (the model predicts s[i+1] from s[0..i])
//   validation: history s[0..n-2), label s[n-2]
//   test:       history s[0..n-1), label s[n-1]
// The validation history is the training sequence; the test history adds the
// validation item. The functions below throw shardrec::Error naming the user
// when n < 3.
inline constexpr size_t kMinLeaveOneOutLength = 3;

enum class SequenceSplit { kValidation, kTest };
const char* SequenceSplitName(SequenceSplit split);  // "validation", "test"

// n - 2: the training sequence is items[0, TrainingLength).
size_t TrainingLength(const UserHistory& user);
// n - 2 (validation) or n - 1 (test): the history is items[0, HistoryLength).
size_t HistoryLength(const UserHistory& user, SequenceSplit split);
// items[HistoryLength(user, split)].
uint64_t HeldOutItem(const UserHistory& user, SequenceSplit split);

}  // namespace shardrec
