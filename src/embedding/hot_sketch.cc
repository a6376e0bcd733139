#include "shardrec/embedding/hot_sketch.h"

#include <sys/mman.h>

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <istream>
#include <ostream>
#include <utility>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {

constexpr uint64_t kMagic = 0x31484354454B5348ull;  // "HSKETCH1" read little-endian
constexpr uint32_t kVersion = 1;
// Buckets are read in chunks so that a corrupt bucket count fails on the truncated stream instead of
// attempting one enormous allocation first.
constexpr uint64_t kReadChunk = uint64_t{1} << 16;

template <typename T>
void WritePod(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
void ReadPod(std::istream& in, T* v, const std::string& what, const char* field) {
  in.read(reinterpret_cast<char*>(v), sizeof(T));
  SR_CHECK(in.good()) << what << ": truncated HotSketch (reading " << field << ")";
}

// Checksum over the raw bytes, 8 at a time; catches flipped bits the structural checks would accept
// (a changed score that keeps the order, say).
uint64_t Checksum(const void* data, size_t bytes, uint64_t h) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, std::min<size_t>(8, bytes - i));
    h = Mix64(h ^ w);
  }
  return h;
}

// Large sketches are probed at random: ask for transparent huge pages on the 2 MiB-aligned interior of the
// array so a probe costs one cache miss, not a miss plus a page walk. Advisory; failure only costs speed.
void AdviseHugePages(void* data, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace

HotSketch::HotSketch(uint64_t num_buckets, uint64_t num_hot_rows, float threshold, float decay, uint64_t seed)
    : num_buckets_(num_buckets),
      num_hot_rows_(num_hot_rows),
      threshold_(threshold),
      decay_(decay),
      seed_(seed),
      seed_key_(Mix64(seed ^ 0x484F54534B455443ull)),
      decay_trigger_(10.0 * static_cast<double>(num_buckets) * threshold) {
  SR_CHECK(num_buckets >= 1) << "HotSketch needs at least one bucket";
  // Rows are stored as int32 to keep a bucket in one cache line.
  SR_CHECK(num_hot_rows < (uint64_t{1} << 31)) << "HotSketch: num_hot_rows " << num_hot_rows << " exceeds 2^31-1";
  SR_CHECK(threshold > 0.0f && threshold <= FLT_MAX) << "HotSketch: threshold must be positive, got " << threshold;
  SR_CHECK(decay > 0.0f && decay <= 1.0f) << "HotSketch: decay must be in (0, 1], got " << decay;
  Bucket empty;
  for (int i = 0; i < kSlots; ++i) {
    empty.id[i] = 0;
    empty.score[i] = 0.0f;
    empty.row[i] = kEmpty;
  }
  buckets_.assign(num_buckets, empty);
  AdviseHugePages(buckets_.data(), buckets_.size() * sizeof(Bucket));
  // Pop order is rows 0, 1, 2, ... so a fresh sketch hands out rows in order (predictable in tests and logs).
  free_rows_.reserve(num_hot_rows);
  for (uint64_t r = num_hot_rows; r > 0; --r) free_rows_.push_back(static_cast<int32_t>(r - 1));
}

void HotSketch::Insert(uint64_t id, float v, std::vector<Change>* promoted, std::vector<Change>* demoted) {
  // Negative or non-finite importance would break the "scores only grow between decays" reasoning that keeps
  // buckets sorted by bubbling up alone. The comparison is written so NaN fails it.
  SR_CHECK(v >= 0.0f && v <= FLT_MAX) << "HotSketch::Insert: importance must be finite and >= 0, got " << v;
  Bucket& b = buckets_[BucketOf(id)];
  int pos = -1;
  for (int i = 0; i < kSlots; ++i) {
    if (b.id[i] == id && b.row[i] != kEmpty) pos = i;
  }
  if (pos >= 0) {
    b.score[pos] += v;
    if (b.row[pos] == kNotHot && b.score[pos] >= threshold_ && !free_rows_.empty()) {
      b.row[pos] = free_rows_.back();
      free_rows_.pop_back();
      if (promoted != nullptr) promoted->push_back({id, b.row[pos]});
    }
  } else if (b.row[kSlots - 1] == kEmpty) {
    // Empty slots are always the tail of the bucket (nothing ever empties a slot), so the first one is the
    // first slot whose row is kEmpty.
    pos = 0;
    while (b.row[pos] != kEmpty) ++pos;
    b.id[pos] = id;
    b.score[pos] = v;
    b.row[pos] = kNotHot;
  } else {
    // Full bucket: the minimum is the last slot. If it is hot but ties with non-hot slots above it, the tie is
    // broken in favour of replacing a non-hot one (the spec's rule, "the minimum slot is not hot", holds for
    // that slot); a strictly smaller hot minimum blocks the replacement.
    pos = kSlots - 1;
    const float min_score = b.score[pos];
    while (pos >= 0 && b.row[pos] >= 0 && b.score[pos] == min_score) --pos;
    if (pos >= 0 && b.row[pos] == kNotHot && b.score[pos] == min_score) {
      b.id[pos] = id;
      b.score[pos] += v;  // Space-Saving: the newcomer inherits the evicted score
    } else {
      pos = -1;  // dropped
    }
  }
  if (pos > 0) {
    // The slot's score only grew: move it up past strictly smaller scores (ties keep their order).
    while (pos > 0 && b.score[pos] > b.score[pos - 1]) {
      std::swap(b.id[pos], b.id[pos - 1]);
      std::swap(b.score[pos], b.score[pos - 1]);
      std::swap(b.row[pos], b.row[pos - 1]);
      --pos;
    }
  }
  inserted_since_decay_ += v;
  if (inserted_since_decay_ > decay_trigger_) Decay(demoted);
}

void HotSketch::Decay(std::vector<Change>* demoted) {
  // A copied sketch's free list has capacity == size; restore the full capacity here (rare, so free) so that the
  // pushes below, and those of later decays, never allocate.
  free_rows_.reserve(num_hot_rows_);
  // Multiplying every score by the same positive factor keeps each bucket sorted (rounding is monotonic), so no
  // reordering is needed; ties it creates are allowed by the order.
  for (Bucket& b : buckets_) {
    for (int i = 0; i < kSlots; ++i) {
      if (b.row[i] == kEmpty) continue;
      float s = b.score[i] * decay_;
      // Long-idle slots would otherwise decay into subnormals, which are very slow to multiply; flushing to 0
      // is monotonic too.
      if (s < FLT_MIN) s = 0.0f;
      b.score[i] = s;
      if (b.row[i] >= 0 && s < threshold_) {
        if (demoted != nullptr) demoted->push_back({b.id[i], b.row[i]});
        free_rows_.push_back(b.row[i]);
        b.row[i] = kNotHot;
      }
    }
  }
  inserted_since_decay_ = 0;
  ++num_decays_;
}

std::vector<HotSketch::Slot> HotSketch::BucketSlots(uint64_t bucket) const {
  SR_CHECK(bucket < num_buckets_) << "HotSketch::BucketSlots: bucket " << bucket << " of " << num_buckets_;
  std::vector<Slot> out;
  const Bucket& b = buckets_[bucket];
  for (int i = 0; i < kSlots; ++i) {
    if (b.row[i] != kEmpty) out.push_back({b.id[i], b.score[i], b.row[i] >= 0 ? b.row[i] : -1});
  }
  return out;
}

size_t HotSketch::MemoryBytes() const {
  return buckets_.capacity() * sizeof(Bucket) + free_rows_.capacity() * sizeof(int32_t) + sizeof(*this);
}

void HotSketch::CheckInvariants() const { CheckInvariantsOf(buckets_, free_rows_); }

void HotSketch::CheckInvariantsOf(const std::vector<Bucket>& buckets, const std::vector<int32_t>& free_rows) const {
  SR_CHECK(buckets.size() == num_buckets_) << "HotSketch: " << buckets.size() << " buckets, expected " << num_buckets_;
  SR_CHECK(free_rows.size() <= num_hot_rows_)
      << "HotSketch: free list holds " << free_rows.size() << " rows of " << num_hot_rows_;
  // owner[r]: 0 unused, 1 free, 2 hot — to catch duplicates and overlap in one pass.
  std::vector<uint8_t> owner(num_hot_rows_, 0);
  for (int32_t r : free_rows) {
    SR_CHECK(r >= 0 && static_cast<uint64_t>(r) < num_hot_rows_)
        << "HotSketch: free row " << r << " outside [0, " << num_hot_rows_ << ")";
    SR_CHECK(owner[r] == 0) << "HotSketch: row " << r << " is twice in the free list";
    owner[r] = 1;
  }
  uint64_t hot = 0;
  for (uint64_t bi = 0; bi < buckets.size(); ++bi) {
    const Bucket& b = buckets[bi];
    bool seen_empty = false;
    for (int i = 0; i < kSlots; ++i) {
      const int32_t row = b.row[i];
      SR_CHECK(row >= kEmpty) << "HotSketch: bucket " << bi << " slot " << i << " has invalid row " << row;
      if (row == kEmpty) {
        seen_empty = true;
        continue;
      }
      SR_CHECK(!seen_empty) << "HotSketch: bucket " << bi << " slot " << i << " is occupied after an empty slot";
      SR_CHECK(b.score[i] >= 0.0f && b.score[i] <= FLT_MAX)
          << "HotSketch: bucket " << bi << " slot " << i << " has score " << b.score[i];
      SR_CHECK(i == 0 || b.score[i] <= b.score[i - 1])
          << "HotSketch: bucket " << bi << " not sorted: slot " << i - 1 << " score " << b.score[i - 1] << " < slot "
          << i << " score " << b.score[i];
      SR_CHECK(BucketOf(b.id[i]) == bi) << "HotSketch: id " << b.id[i] << " sits in bucket " << bi << " but hashes to "
                                        << BucketOf(b.id[i]);
      for (int k = 0; k < i; ++k) {
        SR_CHECK(b.id[k] != b.id[i]) << "HotSketch: id " << b.id[i] << " twice in bucket " << bi;
      }
      if (row >= 0) {
        SR_CHECK(static_cast<uint64_t>(row) < num_hot_rows_)
            << "HotSketch: id " << b.id[i] << " holds row " << row << " outside [0, " << num_hot_rows_ << ")";
        SR_CHECK(owner[row] != 1) << "HotSketch: row " << row << " of id " << b.id[i] << " is also in the free list";
        SR_CHECK(owner[row] != 2) << "HotSketch: row " << row << " is held by two ids (one is " << b.id[i] << ")";
        owner[row] = 2;
        ++hot;
      }
    }
  }
  SR_CHECK(hot + free_rows.size() == num_hot_rows_)
      << "HotSketch: " << hot << " hot + " << free_rows.size() << " free rows != " << num_hot_rows_;
}

void HotSketch::Save(std::ostream& out) const {
  WritePod(out, kMagic);
  WritePod(out, kVersion);
  WritePod(out, num_buckets_);
  WritePod(out, num_hot_rows_);
  WritePod(out, seed_);
  WritePod(out, threshold_);
  WritePod(out, decay_);
  WritePod(out, inserted_since_decay_);
  WritePod(out, num_decays_);
  const uint64_t nfree = free_rows_.size();
  WritePod(out, nfree);
  out.write(reinterpret_cast<const char*>(free_rows_.data()), nfree * sizeof(int32_t));
  out.write(reinterpret_cast<const char*>(buckets_.data()), buckets_.size() * sizeof(Bucket));
  uint64_t sum = Checksum(free_rows_.data(), nfree * sizeof(int32_t), kMagic);
  sum = Checksum(buckets_.data(), buckets_.size() * sizeof(Bucket), sum);
  WritePod(out, sum);
  SR_CHECK(out.good()) << "HotSketch::Save: writing " << buckets_.size() << " buckets failed";
}

void HotSketch::Load(std::istream& in, const std::string& what) {
  uint64_t magic = 0, nb = 0, nh = 0, seed = 0, decays = 0, nfree = 0, sum = 0;
  uint32_t version = 0;
  float threshold = 0, decay = 0;
  double since = 0;
  ReadPod(in, &magic, what, "magic");
  SR_CHECK(magic == kMagic) << what << ": not a HotSketch (bad magic)";
  ReadPod(in, &version, what, "version");
  SR_CHECK(version == kVersion) << what << ": HotSketch version " << version << ", this build reads " << kVersion;
  ReadPod(in, &nb, what, "num_buckets");
  ReadPod(in, &nh, what, "num_hot_rows");
  ReadPod(in, &seed, what, "seed");
  SR_CHECK(nb == num_buckets_ && nh == num_hot_rows_ && seed == seed_)
      << what << ": HotSketch has " << nb << " buckets, " << nh << " hot rows, seed " << seed << "; this one has "
      << num_buckets_ << " buckets, " << num_hot_rows_ << " hot rows, seed " << seed_;
  ReadPod(in, &threshold, what, "threshold");
  ReadPod(in, &decay, what, "decay");
  ReadPod(in, &since, what, "decay accumulator");
  ReadPod(in, &decays, what, "decay count");
  SR_CHECK(threshold > 0.0f && threshold <= FLT_MAX && decay > 0.0f && decay <= 1.0f && since >= 0.0)
      << what << ": corrupt HotSketch header (threshold " << threshold << ", decay " << decay << ", accumulator "
      << since << ")";
  ReadPod(in, &nfree, what, "free-row count");
  SR_CHECK(nfree <= nh) << what << ": corrupt HotSketch: " << nfree << " free rows of " << nh;
  std::vector<int32_t> free_rows(nfree);
  free_rows.reserve(nh);
  in.read(reinterpret_cast<char*>(free_rows.data()), nfree * sizeof(int32_t));
  SR_CHECK(in.good()) << what << ": truncated HotSketch (reading the free rows)";
  std::vector<Bucket> buckets;
  for (uint64_t done = 0; done < nb;) {
    const uint64_t n = std::min(kReadChunk, nb - done);
    buckets.resize(done + n);
    in.read(reinterpret_cast<char*>(buckets.data() + done), n * sizeof(Bucket));
    SR_CHECK(in.good()) << what << ": truncated HotSketch (reading bucket " << done << " of " << nb << ")";
    done += n;
  }
  buckets.shrink_to_fit();
  ReadPod(in, &sum, what, "checksum");
  uint64_t expect = Checksum(free_rows.data(), nfree * sizeof(int32_t), kMagic);
  expect = Checksum(buckets.data(), buckets.size() * sizeof(Bucket), expect);
  SR_CHECK(sum == expect) << what << ": corrupt HotSketch (checksum mismatch)";
  try {
    CheckInvariantsOf(buckets, free_rows);
  } catch (const Error& e) {
    SR_THROW() << what << ": corrupt HotSketch: " << e.what();
  }
  // Everything checked: commit.
  threshold_ = threshold;
  decay_ = decay;
  decay_trigger_ = 10.0 * static_cast<double>(num_buckets_) * threshold;
  inserted_since_decay_ = since;
  num_decays_ = decays;
  buckets_ = std::move(buckets);
  free_rows_ = std::move(free_rows);
  AdviseHugePages(buckets_.data(), buckets_.size() * sizeof(Bucket));
}

}  // namespace shardrec
