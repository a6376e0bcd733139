// shardrec-data: convert Criteo TSV to shardrec's binary format, and inspect
// data files.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/timer.h"
#include "shardrec/data/binary_format.h"
#include "shardrec/data/criteo_tsv.h"
#include "shardrec/data/synthetic.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  shardrec-data convert --input FILE.tsv[.gz] --output FILE.bin [--malformed skip|error]\n"
    "      Converts raw Criteo TSV to the binary format. --malformed (default error) decides whether a\n"
    "      malformed line stops the conversion (reporting file:line and the reason) or is skipped and counted.\n"
    "  shardrec-data inspect FILE\n"
    "      Prints a binary file's header, or parses a TSV file and prints its line and malformed counts.\n"
    "  shardrec-data synth --config EXPERIMENT.yaml [--set key=value ...] --split train|eval --output FILE.bin\n"
    "                      [--samples N]\n"
    "      Writes the first N samples (default: the whole split) of the experiment's synthetic data set\n"
    "      (data.synthetic) in the binary format, e.g. to feed the same samples to another framework.\n"
    "      One-hot features only (the binary format holds one id per feature).\n";

// A command-line mistake: printed with the usage, exit status 2.
struct UsageError {
  std::string message;
};

void PrintStats(const shardrec::DataStats& stats) {
  std::printf("malformed_skipped: %llu\n", static_cast<unsigned long long>(stats.malformed_skipped));
  for (const auto& [reason, count] : stats.malformed_by_reason)
    std::printf("  %s: %llu\n", reason.c_str(), static_cast<unsigned long long>(count));
}

int Convert(const std::vector<std::string>& args) {
  std::string input, output, malformed = "error";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
      return args[++i];
    };
    if (a == "--input") {
      input = value();
    } else if (a == "--output") {
      output = value();
    } else if (a == "--malformed") {
      malformed = value();
    } else {
      throw UsageError{"convert: unknown argument '" + a + "'"};
    }
  }
  if (input.empty()) throw UsageError{"convert: --input is required"};
  if (output.empty()) throw UsageError{"convert: --output is required"};
  if (malformed != "skip" && malformed != "error")
    throw UsageError{"convert: --malformed must be 'skip' or 'error', got '" + malformed + "'"};
  if (input == output) throw UsageError{"convert: --input and --output are the same file"};

  shardrec::Timer timer;
  const shardrec::ConvertResult r = shardrec::ConvertTsvToBinary(
      input, output, malformed == "skip" ? shardrec::config::SKIP : shardrec::config::ERROR);
  const double secs = timer.Seconds();
  std::printf("converted %s -> %s\n", input.c_str(), output.c_str());
  std::printf("lines_read: %llu\nsamples_written: %llu\n", static_cast<unsigned long long>(r.lines_read),
              static_cast<unsigned long long>(r.samples_written));
  PrintStats(r.stats);
  std::printf("seconds: %.3f (%.0f lines/s)\n", secs, secs > 0 ? static_cast<double>(r.lines_read) / secs : 0.0);
  return 0;
}

bool HasBinaryMagic(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;  // the readers below report the real error
  char magic[8] = {};
  const size_t got = std::fread(magic, 1, sizeof(magic), f);
  std::fclose(f);
  return got == sizeof(magic) && std::memcmp(magic, shardrec::kBinaryMagic, sizeof(magic)) == 0;
}

int Inspect(const std::vector<std::string>& args) {
  if (args.size() != 1) throw UsageError{"inspect: expected exactly one FILE"};
  const std::string& path = args[0];
  if (HasBinaryMagic(path)) {
    const shardrec::BinaryFileInfo info = shardrec::ReadBinaryFileInfo(path);
    const auto& h = info.header;
    std::printf("file: %s\nformat: shardrec binary, version %u\n", path.c_str(), h.version());
    std::printf("num_samples: %llu\nnum_dense: %u\nnum_sparse: %u\n", static_cast<unsigned long long>(h.num_samples()),
                h.num_dense(), h.num_sparse());
    std::printf("source: %s\nmalformed_skipped: %llu\n", h.source().c_str(),
                static_cast<unsigned long long>(h.malformed_skipped()));
    std::printf("distinct_ids:");
    for (uint64_t d : h.distinct_ids()) std::printf(" %llu", static_cast<unsigned long long>(d));
    std::printf("%s\n", h.distinct_ids_size() == 0 ? " (none)" : "");
    std::printf("record_size: %llu\ndata_offset: %llu\nfile_size: %llu\n",
                static_cast<unsigned long long>(info.record_size), static_cast<unsigned long long>(info.data_offset),
                static_cast<unsigned long long>(info.file_size));
    return 0;
  }
  const shardrec::DataStats stats = shardrec::ScanCriteoTsv(path);
  std::printf("file: %s\nformat: Criteo TSV\nlines: %llu\nvalid: %llu\n", path.c_str(),
              static_cast<unsigned long long>(stats.lines_read),
              static_cast<unsigned long long>(stats.lines_read - stats.malformed_skipped));
  PrintStats(stats);
  return 0;
}

int Synth(const std::vector<std::string>& args) {
  std::string config_path, split = "train", output;
  std::vector<std::string> overrides;
  uint64_t samples = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
      return args[++i];
    };
    if (a == "--config") {
      config_path = value();
    } else if (a == "--set") {
      overrides.push_back(value());
    } else if (a == "--split") {
      split = value();
    } else if (a == "--output") {
      output = value();
    } else if (a == "--samples") {
      samples = std::strtoull(value().c_str(), nullptr, 10);
    } else {
      throw UsageError{"synth: unknown argument '" + a + "'"};
    }
  }
  if (output.empty()) throw UsageError{"synth: --output is required"};
  if (split != "train" && split != "eval") throw UsageError{"synth: --split must be 'train' or 'eval'"};
  const shardrec::config::ExperimentConfig cfg = shardrec::config::LoadConfig(config_path, overrides);
  const shardrec::SyntheticModel model(cfg.data().synthetic());
  const uint64_t size = split == "train" ? model.num_train() : model.num_eval();
  const uint64_t first = split == "train" ? 0 : model.num_train();
  if (samples == 0 || samples > size) samples = size;
  shardrec::BinaryWriter writer(output, static_cast<uint32_t>(model.num_dense()),
                                static_cast<uint32_t>(model.num_sparse()));
  shardrec::SyntheticSample s;
  std::vector<uint64_t> ids(model.num_sparse());
  for (uint64_t i = 0; i < samples; ++i) {
    model.Generate(first + i, &s);
    for (int f = 0; f < model.num_sparse(); ++f) {
      const uint32_t n = s.offsets[f + 1] - s.offsets[f];
      SR_CHECK(n <= 1) << "synth: feature " << f << " of sample " << first + i << " has " << n
                       << " ids; the binary format holds one (set data.synthetic.multi_hot_max to 1)";
      ids[f] = n == 0 ? shardrec::kMissingId : s.ids[s.offsets[f]];
    }
    writer.Append(s.label, s.dense.data(), ids.data());
  }
  shardrec::data::BinaryHeader header;
  header.set_source("synthetic:" + split + ":" + (config_path.empty() ? "defaults" : config_path));
  for (uint64_t c : model.cardinalities()) header.add_distinct_ids(c);
  writer.Finish(header);
  std::printf("samples_written: %llu\n", static_cast<unsigned long long>(writer.num_samples()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) throw UsageError{"no command given"};
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (cmd == "convert") return Convert(args);
    if (cmd == "inspect") return Inspect(args);
    if (cmd == "synth") return Synth(args);
    throw UsageError{"unknown command '" + cmd + "'"};
  } catch (const UsageError& e) {
    std::fprintf(stderr, "shardrec-data: %s\n%s", e.message.c_str(), kUsage);
    return 2;
  } catch (const shardrec::Error& e) {
    std::fprintf(stderr, "shardrec-data: error: %s\n", e.what());
    return 1;
  }
}
