// CAFE memory split (models.md §4, "Memory split"): how a table of n ids x d
// floats, compressed CR times, divides its budget between unique hot rows (with
// their HotSketch) and shared hash rows, plus the paper's per-CR defaults.
#pragma once

#include <cstdint>

namespace shardrec {

struct CafeSizes {
  bool full;                // n <= 2000*CR: the table stays uncompressed (n rows), hot/hash/sketch are 0
  uint64_t hot_rows;        // unique rows for hot ids (= the HotSketch's num_hot_rows)
  uint64_t hash_rows;       // shared rows for every other id
  uint64_t sketch_buckets;  // HotSketch buckets (4 slots each); 0 when full
  double budget_bytes;      // 4*n*d/CR
  double allocated_bytes;   // what the choice really allocates: full table, or hot + hash rows + sketch bytes
};

// n = cardinality (ids), d = dim >= 1, cr = compression ratio >= 1, h = hash share of the budget in (0, 1].
//
// Reading of the spec's formula. As printed, `hotn = n*CR*(1-h)*4d/(4d+48)` and `hash = ceil(CR*h*n)` grow with
// CR, which cannot be right: a larger compression ratio must mean fewer rows. The dimensionally consistent
// reading, implemented here, divides by CR: the budget is B = 4*n*d/CR bytes (n/CR full rows); the hash share
// h*B is paid at 4d bytes per hash row, the hot share (1-h)*B at 4d+48 bytes per hot row (its row plus 48
// bytes of sketch), so
//   hot_rows  = floor((1-h) * (n/CR) * 4d/(4d+48))
//   hash_rows = floor((B - hot_rows*(4d+48)) / 4d)   (= h*n/CR, plus the few bytes the hot floor left over)
// which keeps hot_rows*(4d+48) + hash_rows*4d <= B, less than 4d bytes short of it. Floors rather than the
// spec's ceil so the identity never exceeds the budget.
//
// Sketch buckets: the sketch must live inside the 48 bytes per hot row. HotSketch spends 64 bytes per 4-slot
// bucket plus 4 bytes of free list per hot row, so sketch_buckets = floor(44*hot_rows/64), i.e. 2.75 slots per
// hot row (room for candidates below the threshold as well as the hot ids), at least 1. With h = 1 there are
// no hot rows and the single bucket is 64 bytes over the budget.
CafeSizes ComputeCafeSizes(uint64_t n, int d, double cr, double h);

// The spec's per-CR table (threshold T and hash share h, CR 2..10000). A CR between listed values takes the
// entry of the next larger listed CR (1 <= CR < 2 takes CR 2's); a CR above 10000 takes CR 10000's, the most
// compressed setting there is. Throws Error for cr < 1 or NaN.
struct CafeDefaults {
  float threshold;
  double hash_share;
};
CafeDefaults CafeDefaultsFor(double cr);

}  // namespace shardrec
