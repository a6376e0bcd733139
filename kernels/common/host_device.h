// Marks functions whose body is shared by the CPU path and the CUDA kernels.
#pragma once

#if defined(__CUDACC__)
#define SR_HOST_DEVICE __host__ __device__
#else
#define SR_HOST_DEVICE
#endif

// For per-element bodies that must inline into their caller: a CPU caller
// compiled in several vector widths (SHARDREC_ROW_KERNEL) only vectorises what
// is inlined into each of its clones; an out-of-line copy runs the baseline.
#if defined(__CUDACC__)
#define SR_FORCE_INLINE __forceinline__
#elif defined(__GNUC__)
#define SR_FORCE_INLINE inline __attribute__((always_inline))
#else
#define SR_FORCE_INLINE inline
#endif
