#include "shardrec/train/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <streambuf>
#include <vector>

#include <google/protobuf/text_format.h>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec {
namespace {

constexpr uint32_t kFormatVersion = 1;
constexpr char kManifest[] = "manifest.pb";

// A streambuf that writes to a file descriptor and keeps a running CRC32 and
// byte count, so large shards are checksummed without being held in memory.
class CrcFileBuf : public std::streambuf {
 public:
  explicit CrcFileBuf(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    SR_CHECK(fd_ >= 0) << "cannot create " << path << ": " << std::strerror(errno);
    setp(buf_, buf_ + sizeof(buf_));
  }
  ~CrcFileBuf() override {
    if (fd_ >= 0) ::close(fd_);
  }
  // Flushes, fsyncs and closes; returns (bytes, crc32).
  std::pair<uint64_t, uint32_t> Finish() {
    Drain();
    SR_CHECK(::fsync(fd_) == 0) << "fsync " << path_ << ": " << std::strerror(errno);
    SR_CHECK(::close(fd_) == 0) << "close " << path_ << ": " << std::strerror(errno);
    fd_ = -1;
    return {bytes_, crc_};
  }

 protected:
  int_type overflow(int_type ch) override {
    Drain();
    if (ch != traits_type::eof()) {
      *pptr() = static_cast<char>(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override {
    Drain();
    return 0;
  }

 private:
  void Drain() {
    const size_t n = static_cast<size_t>(pptr() - pbase());
    const char* p = pbase();
    crc_ = static_cast<uint32_t>(crc32(crc_, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
    bytes_ += n;
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd_, p + done, n - done);
      SR_CHECK(w > 0) << "write " << path_ << ": " << std::strerror(errno);
      done += static_cast<size_t>(w);
    }
    setp(buf_, buf_ + sizeof(buf_));
  }

  std::string path_;
  int fd_ = -1;
  char buf_[1 << 16];
  uint64_t bytes_ = 0;
  uint32_t crc_ = 0;
};

checkpoint::FileEntry WriteFile(const std::string& dir, const std::string& name, int rank,
                                const std::function<void(std::ostream&)>& writer) {
  CrcFileBuf buf(dir + "/" + name);
  std::ostream out(&buf);
  writer(out);
  out.flush();
  SR_CHECK(out.good()) << "writing " << dir << "/" << name << " failed";
  auto [bytes, crc] = buf.Finish();
  checkpoint::FileEntry e;
  e.set_path(name);
  e.set_bytes(bytes);
  e.set_crc32(crc);
  e.set_rank(rank);
  return e;
}

void FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void MakeDirs(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        SR_THROW() << "cannot create directory " << cur << ": " << std::strerror(errno);
      }
    }
    if (i < path.size()) cur += path[i];
  }
}

void RemoveTree(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string child = path + "/" + name;
      struct stat st;
      if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        RemoveTree(child);
      } else {
        ::unlink(child.c_str());
      }
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}

std::string StepDirName(uint64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step_%010llu", static_cast<unsigned long long>(step));
  return buf;
}

// Complete checkpoints under root, oldest first.
std::vector<std::string> ListComplete(const std::string& root) {
  std::vector<std::string> names;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("step_", 0) != 0 || name.find('.') != std::string::npos) continue;
    struct stat st;
    if (::stat((root + "/" + name + "/" + kManifest).c_str(), &st) == 0) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Removes step_*.tmp directories: saves that a crash or kill interrupted.
// They never look complete (no manifest is renamed into place), so only space is lost.
void RemoveInterruptedSaves(const std::string& root) {
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("step_", 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      stale.push_back(root + "/" + name);
    }
  }
  ::closedir(d);
  for (const std::string& s : stale) RemoveTree(s);
}

}  // namespace

std::string DenseFileName() { return "dense.bin"; }
std::string ShardFileName(int rank) { return "embedding_rank" + std::to_string(rank) + ".bin"; }

std::string SaveCheckpoint(Communicator& comm, const std::string& root, checkpoint::Manifest manifest,
                           const CheckpointWriters& writers, uint32_t keep_last) {
  const std::string final_dir = root + "/" + StepDirName(manifest.step());
  const std::string tmp_dir = final_dir + ".tmp";
  if (comm.rank() == 0) {
    MakeDirs(root);
    RemoveInterruptedSaves(root);
    MakeDirs(tmp_dir);
  }
  comm.Barrier();

  std::vector<checkpoint::FileEntry> mine;
  if (comm.rank() == 0) mine.push_back(WriteFile(tmp_dir, DenseFileName(), -1, writers.dense));
  mine.push_back(WriteFile(tmp_dir, ShardFileName(comm.rank()), comm.rank(), writers.shards));
  std::string packed;
  for (const checkpoint::FileEntry& e : mine) {
    const std::string s = e.SerializeAsString();
    const uint32_t n = static_cast<uint32_t>(s.size());
    packed.append(reinterpret_cast<const char*>(&n), 4);
    packed += s;
  }
  std::vector<char> all;
  std::vector<size_t> per_rank;
  comm.AllGatherV(packed.data(), packed.size(), &all, &per_rank);

  if (comm.rank() == 0) {
    size_t off = 0;
    while (off < all.size()) {
      uint32_t n;
      std::memcpy(&n, all.data() + off, 4);
      SR_CHECK(manifest.add_files()->ParseFromArray(all.data() + off + 4, static_cast<int>(n)))
          << "corrupt file entry from a rank";
      off += 4 + n;
    }
    manifest.set_format_version(kFormatVersion);
    manifest.set_world_size(comm.size());
    WriteFile(tmp_dir, kManifest, -1, [&](std::ostream& o) { SR_CHECK(manifest.SerializeToOstream(&o)); });
    std::string text;
    google::protobuf::TextFormat::PrintToString(manifest, &text);
    WriteFile(tmp_dir, "manifest.txt", -1, [&](std::ostream& o) { o << text; });
    FsyncDir(tmp_dir);
    RemoveTree(final_dir);  // an older save of the same step (e.g. after a resume)
    SR_CHECK(::rename(tmp_dir.c_str(), final_dir.c_str()) == 0)
        << "rename " << tmp_dir << " -> " << final_dir << ": " << std::strerror(errno);
    FsyncDir(root);
    // Rotation happens only after the new checkpoint is complete.
    std::vector<std::string> complete = ListComplete(root);
    for (size_t i = 0; i + keep_last < complete.size(); ++i) RemoveTree(root + "/" + complete[i]);
  }
  comm.Barrier();
  return final_dir;
}

std::optional<std::string> FindLatestCheckpoint(const std::string& root) {
  std::vector<std::string> complete = ListComplete(root);
  if (complete.empty()) return std::nullopt;
  return root + "/" + complete.back();
}

checkpoint::Manifest ReadCheckpointManifest(const std::string& dir, int rank, int world) {
  const std::string mpath = dir + "/" + kManifest;
  std::ifstream in(mpath, std::ios::binary);
  SR_CHECK(in.good()) << "cannot open checkpoint manifest " << mpath;
  checkpoint::Manifest m;
  SR_CHECK(m.ParseFromIstream(&in)) << mpath << ": not a valid checkpoint manifest (corrupt or truncated)";
  SR_CHECK(m.format_version() == kFormatVersion)
      << mpath << ": checkpoint format " << m.format_version() << ", this build reads " << kFormatVersion;
  // Same number of ranks: each rank reads (so checks) its own file; otherwise
  // every rank may read every shard file.
  const bool own_only = m.world_size() == world;
  for (const checkpoint::FileEntry& e : m.files()) {
    if (own_only && e.rank() != -1 && e.rank() != rank) continue;
    const std::string path = dir + "/" + e.path();
    std::ifstream f(path, std::ios::binary);
    SR_CHECK(f.good()) << "checkpoint file missing: " << path;
    uint32_t crc = 0;
    uint64_t bytes = 0;
    std::vector<char> buf(1 << 16);
    while (f) {
      f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const std::streamsize n = f.gcount();
      if (n <= 0) break;
      crc = static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n)));
      bytes += static_cast<uint64_t>(n);
    }
    SR_CHECK(bytes == e.bytes()) << path << ": " << bytes << " bytes, the manifest says " << e.bytes()
                                 << " (truncated or overwritten)";
    SR_CHECK(crc == e.crc32()) << path << ": CRC32 mismatch (file is corrupt)";
  }
  return m;
}

}  // namespace shardrec
