// Marks functions whose body is shared by the CPU path and the CUDA kernels.
#pragma once

#if defined(__CUDACC__)
#define SR_HOST_DEVICE __host__ __device__
#else
#define SR_HOST_DEVICE
#endif
