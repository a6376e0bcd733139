// Checkpoint directories: a fuzzed manifest (and the files it lists, which the
// input also provides) is read and verified or refused with shardrec::Error.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "shardrec/core/error.h"
#include "shardrec/train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = "/tmp/shardrec_fuzz_ckpt_" + std::to_string(getpid());
  ::mkdir(dir.c_str(), 0755);
  // Input: 4-byte little-endian manifest length L, L bytes of manifest, then "dense.bin".
  if (size < 4) return 0;
  uint32_t len = static_cast<uint32_t>(data[0]) | static_cast<uint32_t>(data[1]) << 8 |
                 static_cast<uint32_t>(data[2]) << 16 | static_cast<uint32_t>(data[3]) << 24;
  data += 4;
  size -= 4;
  const size_t half = len < size ? len : size;
  auto write = [&](const std::string& name, const uint8_t* p, size_t n) {
    std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
    if (f == nullptr) return;
    std::fwrite(p, 1, n, f);
    std::fclose(f);
  };
  write("manifest.pb", data, half);
  write("dense.bin", data + half, size - half);
  try {
    shardrec::ReadCheckpointManifest(dir, 0, 1);
  } catch (const shardrec::Error&) {
  }
  return 0;
}
