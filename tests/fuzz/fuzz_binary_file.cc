// Binary sample files: arbitrary bytes on disk are either a valid file, whose
// every record reads back, or rejected with shardrec::Error naming the problem.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "shardrec/core/error.h"
#include "shardrec/data/binary_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/shardrec_fuzz_binary_" + std::to_string(getpid()) + ".bin";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    shardrec::BinaryOptions options;
    options.slice.global_batch = 7;
    options.slice.repeat = false;
    shardrec::BinarySource source(path, options);
    shardrec::Batch batch;
    while (source.Next(&batch)) {
    }
  } catch (const shardrec::Error&) {
  }
  return 0;
}
