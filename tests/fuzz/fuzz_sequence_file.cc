// User-history files: arbitrary bytes, read as each of the four formats with
// both malformed-line policies, are either a dataset whose invariants hold
// (sorted users, one timestamp per item, ids within the reported maximum) —
// and whose leave-one-out sources walk every user — or rejected with
// shardrec::Error naming the problem.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "shardrec/core/error.h"
#include "shardrec/data/sequence_data.h"
#include "shardrec/data/sequence_source.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();  // an invariant broke: let the fuzzer report the input
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const std::string path = "/tmp/shardrec_fuzz_sequences_" + std::to_string(getpid()) + ".txt";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  // The first byte picks the format and the policy.
  const auto format = static_cast<shardrec::config::SequenceFormat>(data[0] % 4);
  const auto policy = data[0] & 4 ? shardrec::config::SKIP : shardrec::config::ERROR;
  try {
    auto ds = std::make_shared<shardrec::SequenceDataset>(shardrec::ReadSequenceDataset(path, format, 3, policy));
    uint64_t interactions = 0;
    for (size_t u = 0; u < ds->users.size(); ++u) {
      const shardrec::UserHistory& h = ds->users[u];
      Check(h.items.size() >= 3 && h.items.size() == h.timestamps.size());
      Check(u == 0 || ds->users[u - 1].user < h.user);
      for (size_t i = 0; i < h.items.size(); ++i) {
        Check(h.items[i] >= 1 && h.items[i] <= ds->max_item_id);
        Check(i == 0 || h.timestamps[i - 1] <= h.timestamps[i]);
      }
      interactions += h.items.size();
    }
    Check(interactions == ds->interactions);
    shardrec::SliceSpec spec;
    spec.global_batch = 4;
    spec.repeat = false;
    shardrec::SequenceEvalSource eval(ds, shardrec::SequenceSplit::kTest, 5, spec);
    shardrec::SequenceBatch b;
    uint64_t users = 0;
    while (eval.Next(&b)) users += static_cast<uint64_t>(b.batch_size);
    Check(users == ds->users.size());
    spec.repeat = true;
    shardrec::SequenceTrainSource train(ds, 5, spec, 1);
    for (int i = 0; i < 3; ++i) train.Next(&b);
  } catch (const shardrec::Error&) {
  }
  return 0;
}
