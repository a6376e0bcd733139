// shardrec's binary sample format: fixed-size records, so any rank can seek
// straight to its samples.
//
// File: 8-byte magic "SRBIN001", uint32 little-endian header length, a
// serialized data::BinaryHeader, then num_samples records of
//   float32 label, num_dense float32 (already transformed), num_sparse uint64 ids
// all little-endian. A missing categorical is stored as kMissingId and reads
// back as a bag of length 0; the TSV reader rejects that id, so it never
// collides with a real one. Only single-valued (one-hot or empty) features fit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "data_format.pb.h"
#include "shardrec/data/slicing.h"
#include "shardrec/data/source.h"

namespace shardrec {

inline constexpr char kBinaryMagic[8] = {'S', 'R', 'B', 'I', 'N', '0', '0', '1'};
inline constexpr uint32_t kBinaryVersion = 1;
inline constexpr uint64_t kMissingId = ~uint64_t{0};
// Bigger headers are corrupt (a real one is well under a kilobyte).
inline constexpr uint32_t kMaxBinaryHeaderBytes = 1 << 20;

inline uint64_t BinaryRecordSize(uint32_t num_dense, uint32_t num_sparse) {
  return 4 + 4 * uint64_t{num_dense} + 8 * uint64_t{num_sparse};
}

struct BinaryFileInfo {
  data::BinaryHeader header;
  uint64_t data_offset = 0;  // first record
  uint64_t record_size = 0;
  uint64_t file_size = 0;
};

// Reads and checks a binary file's framing: magic, header length within the
// file, a parseable header of a known version, and a size of exactly
// data_offset + num_samples * record_size. Throws shardrec::Error naming the
// file and the problem.
BinaryFileInfo ReadBinaryFileInfo(const std::string& path);

// Streams records into a binary file. Records go to "<path>.records.tmp" and
// are joined behind the header (whose sample count is known only at the end)
// into "<path>.partial", which is renamed to `path` by Finish(); an unfinished
// writer removes its temporary files and leaves `path` untouched.
class BinaryWriter {
 public:
  BinaryWriter(const std::string& path, uint32_t num_dense, uint32_t num_sparse);
  ~BinaryWriter();
  BinaryWriter(const BinaryWriter&) = delete;
  BinaryWriter& operator=(const BinaryWriter&) = delete;

  // ids[f] == kMissingId marks an empty feature.
  void Append(float label, const float* dense, const uint64_t* ids);
  // Completes the file; `header` supplies source, malformed_skipped and
  // distinct_ids; version, num_samples, num_dense and num_sparse are set here.
  void Finish(data::BinaryHeader header);
  uint64_t num_samples() const { return num_samples_; }

 private:
  void FlushBuffer();

  std::string path_;
  std::string records_path_;
  uint32_t num_dense_;
  uint32_t num_sparse_;
  std::FILE* records_ = nullptr;
  std::vector<char> buffer_;
  size_t used_ = 0;
  uint64_t num_samples_ = 0;
  bool finished_ = false;
};

struct ConvertResult {
  uint64_t lines_read = 0;
  uint64_t samples_written = 0;
  DataStats stats;  // malformed counts by reason (all zero under policy ERROR)
};

// Criteo TSV (plain or gzip) -> binary, one pass in bounded memory. With policy
// ERROR the first malformed line throws "input:line: reason" and no output is
// left behind; with SKIP, skipped lines are counted in the header.
ConvertResult ConvertTsvToBinary(const std::string& input, const std::string& output, config::MalformedPolicy policy);

struct BinaryOptions {
  SliceSpec slice;
  HoldoutSplit split;  // which records form the stream (record index plays the TSV line's role)
};

// Reads this rank's records with direct seeks (pread); skipping to start_step
// is arithmetic. Records with a label other than 0/1 or a non-finite dense
// value are reported as corruption.
class BinarySource : public SampleSource {
 public:
  BinarySource(const std::string& path, const BinaryOptions& options);
  ~BinarySource() override;

  bool Next(Batch* out) override;
  int num_dense() const override;
  int num_sparse() const override;
  // The header's distinct_ids (0 where unknown).
  std::vector<uint64_t> cardinalities() const override;
  DataStats stats() const override;
  const BinaryFileInfo& info() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardrec
