#include "line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "shardrec/core/error.h"

namespace shardrec::data_internal {

LineReader::LineReader(const std::string& path, size_t max_line_bytes, size_t buffer_bytes)
    : path_(path), max_line_(max_line_bytes), buf_(std::max(buffer_bytes, 2 * max_line_bytes + 2)) {
  errno = 0;
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    SR_THROW() << "cannot open '" << path << "': " << (errno != 0 ? std::strerror(errno) : "out of memory");
  }
  gz_ = gz;
  gzbuffer(gz, 1 << 20);
  Fill();  // zlib decides plain vs gzip on the first read
  compressed_ = gzdirect(gz) == 0;
}

LineReader::~LineReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

void LineReader::Rewind() {
  if (gzrewind(static_cast<gzFile>(gz_)) != 0) SR_THROW() << path_ << ": cannot rewind";
  pos_ = end_ = scanned_ = 0;
  base_offset_ = 0;
  number_ = 0;
  eof_ = false;
  Fill();
}

void LineReader::Fill() {
  gzFile gz = static_cast<gzFile>(gz_);
  while (!eof_ && end_ < buf_.size()) {
    const size_t want = std::min<size_t>(buf_.size() - end_, 1u << 30);
    const int got = gzread(gz, buf_.data() + end_, static_cast<unsigned>(want));
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(gz, &code);
      SR_THROW() << path_ << ": read failed: " << (code == Z_ERRNO ? std::strerror(errno) : msg);
    }
    if (got == 0) {
      eof_ = true;
      break;
    }
    end_ += static_cast<size_t>(got);
  }
}

bool LineReader::Next(Line* line) {
  for (;;) {
    const size_t avail = end_ - pos_;
    if (avail > 0) {
      const size_t from = std::max(scanned_, pos_);
      const char* nl = static_cast<const char*>(std::memchr(buf_.data() + from, '\n', end_ - from));
      if (nl != nullptr) {
        const size_t len = static_cast<size_t>(nl - (buf_.data() + pos_));
        line->offset = base_offset_ + pos_;
        line->length = len;
        line->number = number_++;
        line->overlong = len > max_line_;
        line->text = line->overlong ? std::string_view() : std::string_view(buf_.data() + pos_, len);
        pos_ += len + 1;
        scanned_ = pos_;
        return true;
      }
      scanned_ = end_;
    }
    if (eof_) {
      if (avail == 0) return false;
      line->offset = base_offset_ + pos_;
      line->length = avail;
      line->number = number_++;
      line->overlong = avail > max_line_;
      line->text = line->overlong ? std::string_view() : std::string_view(buf_.data() + pos_, avail);
      pos_ = end_;
      scanned_ = end_;
      return true;
    }
    if (avail > max_line_) return SkipOverlong(line);
    // Keep the partial line and read more behind it.
    std::memmove(buf_.data(), buf_.data() + pos_, avail);
    base_offset_ += pos_;
    scanned_ -= pos_;
    end_ = avail;
    pos_ = 0;
    Fill();
  }
}

// The line is already too long to be valid: find its end without keeping it.
bool LineReader::SkipOverlong(Line* line) {
  line->offset = base_offset_ + pos_;
  line->number = number_++;
  line->overlong = true;
  line->text = std::string_view();
  uint64_t length = end_ - pos_;
  for (;;) {
    base_offset_ += end_;
    pos_ = end_ = scanned_ = 0;
    Fill();
    if (end_ == 0) break;  // end of file inside the line
    const char* nl = static_cast<const char*>(std::memchr(buf_.data(), '\n', end_));
    if (nl != nullptr) {
      const size_t len = static_cast<size_t>(nl - buf_.data());
      length += len;
      pos_ = scanned_ = len + 1;
      break;
    }
    length += end_;
  }
  line->length = length;
  return true;
}

}  // namespace shardrec::data_internal
