// Run-time choice of vector width for hot loops. The portable build targets
// baseline x86-64 (SSE2); a function marked SHARDREC_ROW_KERNEL is compiled
// for AVX-512, AVX2 and the baseline, and the best version for the CPU is
// picked when the program loads, widening its vectors 2-4x without baking one
// machine's flags into the build. Sanitizer builds keep one version: the
// clones' resolvers run before the sanitizer runtime is set up.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define SHARDREC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SHARDREC_SANITIZED 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(SHARDREC_SANITIZED)
#define SHARDREC_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) __attribute__((noinline))
#else
#define SHARDREC_ROW_KERNEL
#endif
