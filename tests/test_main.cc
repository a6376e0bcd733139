// GoogleTest main for single- and multi-rank tests. Every rank runs the
// tests; the job passes only if every rank passed (MAX-reduce of the result),
// and only rank 0 prints, so a failure on any rank fails the whole test.
#include <gtest/gtest.h>
#include <mpi.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int local = RUN_ALL_TESTS();
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && local == 0 && global != 0) std::fprintf(stderr, "a test failed on another rank\n");
  MPI_Finalize();
  return global;
}
