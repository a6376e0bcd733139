#include "shardrec/data/binary_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "batch_fill.h"
#include "line_reader.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/data/criteo_tsv.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the binary format is little-endian; add byte swaps");

namespace shardrec {
namespace {

void PreadFully(int fd, const std::string& path, void* dst, size_t bytes, uint64_t offset) {
  char* out = static_cast<char*>(dst);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t got = ::pread(fd, out + done, bytes - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      SR_THROW() << path << ": read failed: " << std::strerror(errno);
    }
    if (got == 0) SR_THROW() << path << ": truncated (file shrank while it was being read)";
    done += static_cast<size_t>(got);
  }
}

void WriteFully(std::FILE* f, const std::string& path, const void* data, size_t bytes) {
  if (bytes != 0 && std::fwrite(data, 1, bytes, f) != bytes)
    SR_THROW() << path << ": write failed: " << std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) SR_THROW() << "cannot open '" << path << "': " << std::strerror(errno);
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

BinaryFileInfo ReadInfo(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) SR_THROW() << path << ": cannot stat: " << std::strerror(errno);
  if (!S_ISREG(st.st_mode)) SR_THROW() << path << ": not a regular file";
  BinaryFileInfo info;
  info.file_size = static_cast<uint64_t>(st.st_size);
  if (info.file_size < 12)
    SR_THROW() << path << ": not a shardrec binary file (" << info.file_size
               << " bytes, shorter than the 12-byte preamble)";
  char pre[12];
  PreadFully(fd, path, pre, sizeof(pre), 0);
  if (std::memcmp(pre, kBinaryMagic, 8) != 0)
    SR_THROW() << path << ": not a shardrec binary file (bad magic; expected \"SRBIN001\")";
  uint32_t header_len = 0;
  std::memcpy(&header_len, pre + 8, 4);
  if (header_len > kMaxBinaryHeaderBytes || header_len > info.file_size - 12) {
    SR_THROW() << path << ": corrupt header: header length " << header_len << " runs beyond the file ("
               << info.file_size << " bytes)";
  }
  std::string bytes(header_len, '\0');
  PreadFully(fd, path, bytes.data(), header_len, 12);
  if (!info.header.ParseFromString(bytes)) SR_THROW() << path << ": corrupt header: it does not parse";
  const data::BinaryHeader& h = info.header;
  if (!h.has_version() || h.version() != kBinaryVersion)
    SR_THROW() << path << ": unsupported format version " << h.version() << " (this build reads " << kBinaryVersion
               << ")";
  if (!h.has_num_samples() || !h.has_num_dense() || !h.has_num_sparse())
    SR_THROW() << path << ": corrupt header: num_samples, num_dense or num_sparse missing";
  if (h.num_sparse() > 4096 || h.num_dense() > 1u << 20)
    SR_THROW() << path << ": corrupt header: implausible shape " << h.num_dense() << " dense, " << h.num_sparse()
               << " sparse";
  info.data_offset = 12 + uint64_t{header_len};
  info.record_size = BinaryRecordSize(h.num_dense(), h.num_sparse());
  const uint64_t data_bytes = info.file_size - info.data_offset;
  if (h.num_samples() > data_bytes / info.record_size || data_bytes != h.num_samples() * info.record_size) {
    SR_THROW() << path << ": size mismatch: header says " << h.num_samples() << " records of " << info.record_size
               << " bytes, but " << data_bytes << " bytes follow the header (truncated or corrupt file)";
  }
  return info;
}

}  // namespace

BinaryFileInfo ReadBinaryFileInfo(const std::string& path) {
  Fd fd(path);
  return ReadInfo(fd.get(), path);
}

// ---------------------------------------------------------------------------

BinaryWriter::BinaryWriter(const std::string& path, uint32_t num_dense, uint32_t num_sparse)
    : path_(path), records_path_(path + ".records.tmp"), num_dense_(num_dense), num_sparse_(num_sparse) {
  records_ = std::fopen(records_path_.c_str(), "wb");
  if (records_ == nullptr) SR_THROW() << "cannot create '" << records_path_ << "': " << std::strerror(errno);
  buffer_.resize(std::max<size_t>(4 << 20, BinaryRecordSize(num_dense, num_sparse)));
}

BinaryWriter::~BinaryWriter() {
  if (records_ != nullptr) std::fclose(records_);
  if (!finished_) {
    std::remove(records_path_.c_str());
    std::remove((path_ + ".partial").c_str());
  }
}

void BinaryWriter::FlushBuffer() {
  WriteFully(records_, records_path_, buffer_.data(), used_);
  used_ = 0;
}

void BinaryWriter::Append(float label, const float* dense, const uint64_t* ids) {
  const size_t rec = BinaryRecordSize(num_dense_, num_sparse_);
  if (used_ + rec > buffer_.size()) FlushBuffer();
  char* p = buffer_.data() + used_;
  std::memcpy(p, &label, 4);
  std::memcpy(p + 4, dense, 4 * size_t{num_dense_});
  std::memcpy(p + 4 + 4 * size_t{num_dense_}, ids, 8 * size_t{num_sparse_});
  used_ += rec;
  ++num_samples_;
}

void BinaryWriter::Finish(data::BinaryHeader header) {
  SR_CHECK(!finished_) << "BinaryWriter::Finish called twice";
  FlushBuffer();
  if (std::fclose(records_) != 0) {
    records_ = nullptr;
    SR_THROW() << records_path_ << ": write failed: " << std::strerror(errno);
  }
  records_ = nullptr;

  header.set_version(kBinaryVersion);
  header.set_num_samples(num_samples_);
  header.set_num_dense(num_dense_);
  header.set_num_sparse(num_sparse_);
  std::string bytes;
  SR_CHECK(header.SerializeToString(&bytes));
  const uint32_t len = static_cast<uint32_t>(bytes.size());

  const std::string partial = path_ + ".partial";
  std::FILE* out = std::fopen(partial.c_str(), "wb");
  if (out == nullptr) SR_THROW() << "cannot create '" << partial << "': " << std::strerror(errno);
  try {
    WriteFully(out, partial, kBinaryMagic, 8);
    WriteFully(out, partial, &len, 4);
    WriteFully(out, partial, bytes.data(), bytes.size());
    std::FILE* in = std::fopen(records_path_.c_str(), "rb");
    if (in == nullptr) SR_THROW() << "cannot reopen '" << records_path_ << "': " << std::strerror(errno);
    for (;;) {
      const size_t got = std::fread(buffer_.data(), 1, buffer_.size(), in);
      if (got == 0) break;
      WriteFully(out, partial, buffer_.data(), got);
    }
    const bool read_error = std::ferror(in) != 0;
    std::fclose(in);
    if (read_error) SR_THROW() << records_path_ << ": read failed";
  } catch (...) {
    std::fclose(out);
    throw;
  }
  if (std::fclose(out) != 0) SR_THROW() << partial << ": write failed: " << std::strerror(errno);
  if (std::rename(partial.c_str(), path_.c_str()) != 0)
    SR_THROW() << "cannot rename '" << partial << "' to '" << path_ << "': " << std::strerror(errno);
  std::remove(records_path_.c_str());
  finished_ = true;
}

ConvertResult ConvertTsvToBinary(const std::string& input, const std::string& output, config::MalformedPolicy policy) {
  data_internal::LineReader reader(input, kCriteoMaxLineBytes);
  BinaryWriter writer(output, kCriteoNumDense, kCriteoNumSparse);
  data_internal::LineReader::Line line;
  CriteoRow row;
  ParseFailure failure;
  MalformedCounter malformed;
  ConvertResult result;
  uint64_t ids[kCriteoNumSparse];
  while (reader.Next(&line)) {
    ++result.lines_read;
    bool ok;
    if (line.overlong) {
      failure.reason = MalformedReason::kOverlongLine;
      failure.message = Str("line has ", line.length, " bytes (at most ", kCriteoMaxLineBytes, ")");
      ok = false;
    } else {
      ok = ParseCriteoLine(line.text, &row, &failure);
    }
    if (!ok) {
      if (policy == config::ERROR) SR_THROW() << input << ":" << line.number + 1 << ": " << failure.message;
      malformed.Add(failure.reason);
      continue;
    }
    for (int f = 0; f < kCriteoNumSparse; ++f) ids[f] = row.has(f) ? row.ids[f] : kMissingId;
    writer.Append(row.label, row.dense.data(), ids);
  }
  data::BinaryHeader header;
  header.set_source(Str("criteo_tsv:", input));
  header.set_malformed_skipped(malformed.total());
  for (int f = 0; f < kCriteoNumSparse; ++f) header.add_distinct_ids(0);
  writer.Finish(header);
  result.samples_written = writer.num_samples();
  result.stats.lines_read = result.lines_read;
  malformed.Fill(&result.stats);
  return result;
}

// ---------------------------------------------------------------------------

class BinarySource::Impl {
 public:
  Impl(const std::string& path, const BinaryOptions& options)
      : path_(path), options_(options), fd_(path), info_(ReadInfo(fd_.get(), path)), cursor_(options.slice, 0) {
    ValidateHoldoutSplit(options.split);
    epoch_size_ = options.split.Size(info_.header.num_samples());
    if (options.slice.repeat && epoch_size_ == 0)
      SR_THROW() << path << ": no records in the part of the file to train on";
    cursor_ = BatchCursor(options.slice, epoch_size_);
    num_dense_ = static_cast<int>(info_.header.num_dense());
    num_sparse_ = static_cast<int>(info_.header.num_sparse());
  }

  bool Next(Batch* out);
  const BinaryFileInfo& info() const { return info_; }
  int num_dense() const { return num_dense_; }
  int num_sparse() const { return num_sparse_; }
  uint64_t records_read() const { return records_read_; }

 private:
  void Decode(const char* rec, uint64_t record_index, Batch* out, int64_t row);

  std::string path_;
  BinaryOptions options_;
  Fd fd_;
  BinaryFileInfo info_;
  BatchCursor cursor_;
  uint64_t epoch_size_ = 0;
  int num_dense_ = 0;
  int num_sparse_ = 0;
  std::vector<char> chunk_;
  uint64_t records_read_ = 0;
};

void BinarySource::Impl::Decode(const char* rec, uint64_t record_index, Batch* out, int64_t row) {
  float label;
  std::memcpy(&label, rec, 4);
  if (label != 0.0f && label != 1.0f)
    SR_THROW() << path_ << ": corrupt record " << record_index << ": label " << label << " is not 0 or 1";
  out->labels.push_back(label);
  float* dense = out->dense.row(row).data();
  std::memcpy(dense, rec + 4, 4 * size_t(num_dense_));
  for (int d = 0; d < num_dense_; ++d) {
    if (!std::isfinite(dense[d]))
      SR_THROW() << path_ << ": corrupt record " << record_index << ": dense value " << d << " is not finite";
  }
  const char* ids = rec + 4 + 4 * size_t(num_dense_);
  for (int f = 0; f < num_sparse_; ++f) {
    uint64_t id;
    std::memcpy(&id, ids + 8 * size_t(f), 8);
    JaggedIds& jag = out->sparse[f];
    if (id == kMissingId) {
      jag.lengths.push_back(0);
    } else {
      jag.lengths.push_back(1);
      jag.values.push_back(id);
    }
  }
}

bool BinarySource::Impl::Next(Batch* out) {
  uint64_t first, last;
  if (!cursor_.Next(&first, &last)) return false;
  const int64_t rows = static_cast<int64_t>(last - first);
  data_internal::ResetBatch(out, rows, num_dense_, num_sparse_);
  const uint64_t rec_size = info_.record_size;
  // Nearby records share one read (a train split skips one record in `every`);
  // a wrap to the file's start or a wide gap starts a new read.
  constexpr uint64_t kMaxGap = 8;
  const uint64_t max_chunk_records = std::max<uint64_t>(1, (8u << 20) / rec_size);
  uint64_t p = first;
  int64_t row = 0;
  while (p < last) {
    const uint64_t r0 = options_.split.RecordIndex(p % epoch_size_);
    uint64_t q = p + 1;
    uint64_t r_last = r0;
    while (q < last) {
      const uint64_t r = options_.split.RecordIndex(q % epoch_size_);
      if (r <= r_last || r - r_last > kMaxGap || r - r0 >= max_chunk_records) break;
      r_last = r;
      ++q;
    }
    const size_t bytes = static_cast<size_t>((r_last - r0 + 1) * rec_size);
    if (chunk_.size() < bytes) chunk_.resize(bytes);
    PreadFully(fd_.get(), path_, chunk_.data(), bytes, info_.data_offset + r0 * rec_size);
    for (uint64_t s = p; s < q; ++s) {
      const uint64_t r = options_.split.RecordIndex(s % epoch_size_);
      Decode(chunk_.data() + (r - r0) * rec_size, r, out, row++);
    }
    p = q;
  }
  records_read_ += static_cast<uint64_t>(rows);
  data_internal::FinishBatch(out, rows, static_cast<int64_t>(first));
  return true;
}

BinarySource::BinarySource(const std::string& path, const BinaryOptions& options)
    : impl_(std::make_unique<Impl>(path, options)) {}
BinarySource::~BinarySource() = default;
bool BinarySource::Next(Batch* out) { return impl_->Next(out); }
int BinarySource::num_dense() const { return impl_->num_dense(); }
int BinarySource::num_sparse() const { return impl_->num_sparse(); }
const BinaryFileInfo& BinarySource::info() const { return impl_->info(); }

std::vector<uint64_t> BinarySource::cardinalities() const {
  const auto& ids = impl_->info().header.distinct_ids();
  std::vector<uint64_t> out(static_cast<size_t>(num_sparse()), 0);
  for (int f = 0; f < ids.size() && f < num_sparse(); ++f) out[f] = ids[f];
  return out;
}

DataStats BinarySource::stats() const {
  DataStats s;
  s.lines_read = impl_->records_read();
  return s;
}

}  // namespace shardrec
