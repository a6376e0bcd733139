// Sequential line reader over big buffered reads (plain or gzip input).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardrec::data_internal {

class LineReader {
 public:
  struct Line {
    std::string_view text;  // without '\n'; valid until the next call; empty when overlong
    uint64_t offset = 0;    // byte offset of the line's start (uncompressed)
    uint64_t length = 0;    // bytes, without '\n'
    uint64_t number = 0;    // 0-based line index in the file
    bool overlong = false;  // length > max_line_bytes
  };

  // Throws shardrec::Error when the file cannot be opened.
  LineReader(const std::string& path, size_t max_line_bytes, size_t buffer_bytes = 4 << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Returns false at end of file. A last line without '\n' is still a line.
  bool Next(Line* line);
  void Rewind();
  bool compressed() const { return compressed_; }
  const std::string& path() const { return path_; }

 private:
  void Fill();
  bool SkipOverlong(Line* line);

  std::string path_;
  size_t max_line_;
  void* gz_ = nullptr;  // gzFile; zlib reads plain files transparently
  bool compressed_ = false;
  std::vector<char> buf_;
  size_t pos_ = 0;            // next unread byte in buf_
  size_t end_ = 0;            // bytes valid in buf_
  size_t scanned_ = 0;        // buf_[pos_, scanned_) is known to hold no '\n'
  uint64_t base_offset_ = 0;  // file offset of buf_[0]
  uint64_t number_ = 0;
  bool eof_ = false;
};

}  // namespace shardrec::data_internal
