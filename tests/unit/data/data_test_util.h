// Helpers for the data-layer tests: batches flattened into comparable
// samples, the rank-union check, and temporary files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "shardrec/data/source.h"

namespace shardrec::testing {

struct FlatSample {
  int64_t position = 0;  // stream position (first_sample + row)
  float label = 0.0f;
  std::vector<float> dense;
  std::vector<std::vector<uint64_t>> bags;

  bool operator==(const FlatSample& o) const {
    return position == o.position && label == o.label && dense == o.dense && bags == o.bags;
  }
};

inline std::ostream& operator<<(std::ostream& os, const FlatSample& s) {
  os << "{pos " << s.position << ", label " << s.label << ", dense[" << s.dense.size() << "], bags:";
  for (const auto& b : s.bags) {
    os << " [";
    for (size_t i = 0; i < b.size(); ++i) os << (i ? "," : "") << std::hex << b[i] << std::dec;
    os << "]";
  }
  return os << "}";
}

// Checks the batch's internal consistency and flattens it. `positions` false
// for sources with holes (skipped malformed lines), where rows are not at
// first_sample + row.
inline std::vector<FlatSample> Flatten(const Batch& b, bool positions = true) {
  std::vector<FlatSample> out;
  EXPECT_EQ(b.dense.rows(), b.batch_size);
  EXPECT_EQ(static_cast<int64_t>(b.labels.size()), b.batch_size);
  std::vector<size_t> offset(b.sparse.size(), 0);
  for (const JaggedIds& j : b.sparse) {
    EXPECT_EQ(static_cast<int64_t>(j.lengths.size()), b.batch_size);
    size_t total = 0;
    for (int32_t l : j.lengths) total += static_cast<size_t>(l);
    EXPECT_EQ(total, j.values.size());
  }
  for (int64_t r = 0; r < b.batch_size; ++r) {
    FlatSample s;
    s.position = positions ? b.first_sample + r : -1;
    s.label = b.labels[static_cast<size_t>(r)];
    for (int64_t c = 0; c < b.dense.cols(); ++c) s.dense.push_back(b.dense(r, c));
    for (size_t f = 0; f < b.sparse.size(); ++f) {
      const JaggedIds& j = b.sparse[f];
      const int32_t len = j.lengths[static_cast<size_t>(r)];
      s.bags.emplace_back(j.values.begin() + static_cast<std::ptrdiff_t>(offset[f]),
                          j.values.begin() + static_cast<std::ptrdiff_t>(offset[f] + static_cast<size_t>(len)));
      offset[f] += static_cast<size_t>(len);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Reads up to `max_steps` batches (until the end for finite streams).
inline std::vector<std::vector<FlatSample>> ReadSteps(SampleSource* src, int max_steps, bool positions = true) {
  std::vector<std::vector<FlatSample>> steps;
  Batch b;
  for (int i = 0; i < max_steps && src->Next(&b); ++i) steps.push_back(Flatten(b, positions));
  return steps;
}

using SourceMaker = std::function<std::unique_ptr<SampleSource>(int rank, int world)>;

// The union of the rank slices of each step, for world = 2 and 4, equals the
// single-rank stream, rank by rank in order; every rank ends on the same step.
// Stores the single-rank stream in *single_stream when given.
inline void ExpectRankUnionMatches(const SourceMaker& make, int max_steps,
                                   std::vector<std::vector<FlatSample>>* single_stream = nullptr,
                                   bool positions = true) {
  auto single = make(0, 1);
  const auto expected = ReadSteps(single.get(), max_steps, positions);
  if (single_stream != nullptr) *single_stream = expected;
  for (int world : {2, 4}) {
    std::vector<std::unique_ptr<SampleSource>> ranks;
    for (int r = 0; r < world; ++r) ranks.push_back(make(r, world));
    for (size_t step = 0; step <= expected.size() && step < static_cast<size_t>(max_steps); ++step) {
      std::vector<FlatSample> joined;
      int ended = 0;
      for (int r = 0; r < world; ++r) {
        Batch b;
        if (!ranks[r]->Next(&b)) {
          ++ended;
          continue;
        }
        for (auto& s : Flatten(b, positions)) joined.push_back(std::move(s));
      }
      if (step == expected.size()) {
        EXPECT_EQ(ended, world) << "world " << world << ": ranks go on after the single stream ended";
        break;
      }
      ASSERT_EQ(ended, 0) << "world " << world << " step " << step << ": a rank ended early";
      ASSERT_EQ(joined.size(), expected[step].size()) << "world " << world << " step " << step;
      for (size_t i = 0; i < joined.size(); ++i)
        ASSERT_EQ(joined[i], expected[step][i]) << "world " << world << " step " << step << " sample " << i;
    }
  }
}

// A per-test path under the gtest temp dir; removed by the caller if needed.
inline std::string TempPath(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = ::testing::TempDir();
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + "shardrec_data_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name() +
         "_" + name;
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out.good()) << path;
  out << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace shardrec::testing
