// Builds the configured training and evaluation sources, sliced for one rank
// and wrapped in a PrefetchSource.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "shardrec/data/source.h"

namespace shardrec {

// A relative `path` resolves against `data_root` when set, else against
// $SHARDREC_DATA_DIR when set, else against the working directory. Absolute
// paths are returned unchanged.
std::string ResolveDataPath(const std::string& path, const std::string& data_root);

// The shape of the configured data, read from the config or a file header
// without reading samples: what a model needs to build its tables and layers.
struct DataShape {
  int num_dense = 0;
  int num_sparse = 0;
  std::vector<uint64_t> cardinalities;  // per categorical feature, 0 when unknown
};
DataShape DescribeData(const config::DataConfig& config);

// The training stream (repeats forever), positioned at global batch
// `start_step` so a resumed run continues on exactly the batch it would have
// seen. Throws shardrec::Error on a bad config, a global batch that does not
// divide by `world`, or an unreadable file.
std::unique_ptr<SampleSource> MakeTrainSource(const config::DataConfig& config, int rank, int world,
                                              uint64_t global_batch, uint64_t start_step);

// The evaluation stream: eval_path, or else the held-out lines of train_path
// (synthetic: the eval split). It ends; its last global batch may be partial.
std::unique_ptr<SampleSource> MakeEvalSource(const config::DataConfig& config, int rank, int world,
                                             uint64_t global_batch);

}  // namespace shardrec
