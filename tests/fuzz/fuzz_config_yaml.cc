// Experiment YAML: any text is a config or a shardrec::Error with a message.
#include <cstdint>
#include <string>

#include "shardrec/config/config.h"
#include "shardrec/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    const shardrec::config::ExperimentConfig cfg = shardrec::config::LoadConfigFromString(yaml, "fuzz.yaml");
    // What loads must dump and load back.
    shardrec::config::LoadConfigFromString(shardrec::config::ToYaml(cfg), "dump.yaml");
  } catch (const shardrec::Error& e) {
    if (std::string(e.what()).empty()) __builtin_trap();
  }
  return 0;
}
