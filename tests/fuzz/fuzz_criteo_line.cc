// Raw Criteo TSV lines: any bytes either parse into a row or are rejected with a
// reason; never a crash, a hang or an out-of-range read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shardrec/data/criteo_tsv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  shardrec::CriteoRow row;
  shardrec::ParseFailure failure;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  if (shardrec::ParseCriteoLine(line, &row, &failure)) {
    for (int f = 0; f < shardrec::kCriteoNumSparse; ++f) (void)row.has(f);
  } else if (failure.message.empty()) {
    __builtin_trap();  // a rejection must say why
  }
  return 0;
}
