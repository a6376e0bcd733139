#include "shardrec/data/data_factory.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <optional>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/data/binary_format.h"
#include "shardrec/data/criteo_tsv.h"
#include "shardrec/data/prefetch.h"
#include "shardrec/data/synthetic.h"

namespace shardrec {
namespace {

std::string Join(const std::string& dir, const std::string& path) {
  if (dir.empty()) return path;
  return dir.back() == '/' ? dir + path : dir + "/" + path;
}

std::string ResolveExisting(const std::string& what, const std::string& path, const std::string& data_root) {
  if (path.empty()) SR_THROW() << "data: " << what << " is empty but the source reads a file";
  const std::string resolved = ResolveDataPath(path, data_root);
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0) {
    std::string how = "as given";
    if (resolved != path) how = "resolved to '" + resolved + "'";
    SR_THROW() << "data: " << what << " '" << path << "' (" << how << ") cannot be read: " << std::strerror(errno);
  }
  return resolved;
}

// The binary conversion of a TSV file (`shardrec-data convert --input X.tsv
// --output X.tsv.bin`), when it is there, no older than the TSV, and was made
// without skipping lines — only then is record i the TSV's line i, so slicing
// and the holdout split select the same samples as reading the text would.
std::optional<std::string> ConvertedBinaryFor(const std::string& tsv) {
  const std::string bin = tsv + ".bin";
  struct stat st_tsv, st_bin;
  if (::stat(bin.c_str(), &st_bin) != 0 || ::stat(tsv.c_str(), &st_tsv) != 0) return std::nullopt;
  if (st_bin.st_mtime < st_tsv.st_mtime) {
    LogWarn("data: ignoring " + bin + ": older than " + tsv + " (convert again)");
    return std::nullopt;
  }
  const BinaryFileInfo info = ReadBinaryFileInfo(bin);  // a corrupt file is an error, not silently skipped
  if (info.header.malformed_skipped() > 0) {
    LogWarn("data: ignoring " + bin +
            ": its conversion skipped malformed lines, so its records are not the TSV's lines");
    return std::nullopt;
  }
  return bin;
}

std::unique_ptr<SampleSource> MakeFileSource(const config::DataConfig& config, const std::string& path,
                                             const SliceSpec& slice, const HoldoutSplit& split) {
  switch (config.source()) {
    case config::CRITEO_TSV: {
      if (std::optional<std::string> bin = ConvertedBinaryFor(path)) {
        LogInfo("data: reading " + *bin + ", the binary conversion of " + path);
        BinaryOptions options;
        options.slice = slice;
        options.split = split;
        return std::make_unique<BinarySource>(*bin, options);
      }
      CriteoTsvOptions options;
      options.slice = slice;
      options.split = split;
      options.malformed = config.malformed();
      return std::make_unique<CriteoTsvSource>(path, options);
    }
    case config::BINARY: {
      BinaryOptions options;
      options.slice = slice;
      options.split = split;
      return std::make_unique<BinarySource>(path, options);
    }
    case config::SYNTHETIC:
    case config::SEQUENCES: break;
  }
  SR_THROW() << "data: source " << config::DataSource_Name(config.source()) << " has no sample file reader";
  return nullptr;  // not reached: SR_THROW throws
}

std::unique_ptr<SampleSource> Prefetched(const config::DataConfig& config, std::unique_ptr<SampleSource> src) {
  return std::make_unique<PrefetchSource>(std::move(src), std::max<uint32_t>(1, config.prefetch_batches()));
}

SliceSpec MakeSlice(int rank, int world, uint64_t global_batch, uint64_t start_step, bool repeat) {
  SliceSpec s;
  s.rank = rank;
  s.world = world;
  s.global_batch = global_batch;
  s.start_step = start_step;
  s.repeat = repeat;
  ValidateSliceSpec(s);
  return s;
}

}  // namespace

std::string ResolveDataPath(const std::string& path, const std::string& data_root) {
  if (path.empty() || path.front() == '/') return path;
  if (!data_root.empty()) return Join(data_root, path);
  const char* env = std::getenv("SHARDREC_DATA_DIR");
  if (env != nullptr && env[0] != '\0') return Join(env, path);
  return path;
}

DataShape DescribeData(const config::DataConfig& config) {
  DataShape shape;
  switch (config.source()) {
    case config::SYNTHETIC: {
      const SyntheticModel model(config.synthetic());
      shape.num_dense = model.num_dense();
      shape.num_sparse = model.num_sparse();
      shape.cardinalities = model.cardinalities();
      break;
    }
    case config::CRITEO_TSV:
      shape.num_dense = kCriteoNumDense;
      shape.num_sparse = kCriteoNumSparse;
      shape.cardinalities.assign(kCriteoNumSparse, 0);
      break;
    case config::BINARY: {
      const BinaryFileInfo info =
          ReadBinaryFileInfo(ResolveExisting("train_path", config.train_path(), config.data_root()));
      shape.num_dense = static_cast<int>(info.header.num_dense());
      shape.num_sparse = static_cast<int>(info.header.num_sparse());
      shape.cardinalities.assign(info.header.distinct_ids().begin(), info.header.distinct_ids().end());
      shape.cardinalities.resize(shape.num_sparse, 0);
      break;
    }
    case config::SEQUENCES:
      SR_THROW() << "data.source SEQUENCES holds user histories for sequence models (model.type hstu or sasrec), "
                    "not samples for model.type dlrm";
  }
  return shape;
}

std::unique_ptr<SampleSource> MakeTrainSource(const config::DataConfig& config, int rank, int world,
                                              uint64_t global_batch, uint64_t start_step) {
  const SliceSpec slice = MakeSlice(rank, world, global_batch, start_step, /*repeat=*/true);
  if (config.source() == config::SYNTHETIC)
    return Prefetched(config, std::make_unique<SyntheticSource>(config.synthetic(), slice, /*eval=*/false));
  const std::string path = ResolveExisting("train_path", config.train_path(), config.data_root());
  HoldoutSplit split;
  if (config.eval_path().empty()) {
    split.part = SplitPart::kTrain;
    split.every = config.eval_holdout_every();
  }
  return Prefetched(config, MakeFileSource(config, path, slice, split));
}

std::unique_ptr<SampleSource> MakeEvalSource(const config::DataConfig& config, int rank, int world,
                                             uint64_t global_batch) {
  const SliceSpec slice = MakeSlice(rank, world, global_batch, 0, /*repeat=*/false);
  if (config.source() == config::SYNTHETIC)
    return Prefetched(config, std::make_unique<SyntheticSource>(config.synthetic(), slice, /*eval=*/true));
  HoldoutSplit split;
  std::string path;
  if (config.eval_path().empty()) {
    path = ResolveExisting("train_path", config.train_path(), config.data_root());
    split.part = SplitPart::kEval;
    split.every = config.eval_holdout_every();
  } else {
    path = ResolveExisting("eval_path", config.eval_path(), config.data_root());
  }
  return Prefetched(config, MakeFileSource(config, path, slice, split));
}

}  // namespace shardrec
