// Runs any SampleSource on a background thread, a bounded number of batches
// ahead of the consumer, so parsing overlaps training.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "shardrec/data/source.h"

namespace shardrec {

class PrefetchSource : public SampleSource {
 public:
  // Starts the worker at once; at most `depth` (>= 1) parsed batches wait.
  PrefetchSource(std::unique_ptr<SampleSource> inner, size_t depth);
  // Stops the worker (after the batch it is parsing, if any) and joins it.
  ~PrefetchSource() override;
  PrefetchSource(const PrefetchSource&) = delete;
  PrefetchSource& operator=(const PrefetchSource&) = delete;

  // Hands over the next parsed batch. An exception thrown by the inner source
  // is rethrown here, in order, after the batches parsed before it, and again
  // on every later call.
  bool Next(Batch* out) override;
  int num_dense() const override { return num_dense_; }
  int num_sparse() const override { return num_sparse_; }
  std::vector<uint64_t> cardinalities() const override { return cardinalities_; }
  // The inner source's stats as of the last batch it produced (it may be ahead of the consumer).
  DataStats stats() const override;

 private:
  struct Item {
    Batch batch;
    bool end = false;
    std::exception_ptr error;
  };
  void Run();

  std::unique_ptr<SampleSource> inner_;
  const size_t depth_;
  const int num_dense_;
  const int num_sparse_;
  const std::vector<uint64_t> cardinalities_;

  mutable std::mutex mu_;
  std::condition_variable can_produce_;
  std::condition_variable can_consume_;
  std::deque<Item> ready_;
  std::vector<Batch> spare_;  // consumed batches handed back so their buffers are reused
  DataStats stats_;
  bool stop_ = false;
  bool finished_ = false;  // the consumer has seen the end or an error
  Item last_;              // the end/error item, kept to answer later calls
  std::thread worker_;
};

}  // namespace shardrec
