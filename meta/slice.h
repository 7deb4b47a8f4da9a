// Resolving a chunk's stored slice records into the visible, non-overlapping pieces
// (JuiceFS buildSlice, format.md §1.3): later records win, gaps are zeros, positions are implicit.
#pragma once

#include <vector>

#include "meta/types.h"

namespace jfs::meta {

// In-order pieces starting at chunk offset 0; a leading gap is an id-0 piece; the region after the
// last piece is not emitted (implicitly zero). Bit-exact with JuiceFS.
std::vector<SliceView> BuildSlices(const std::vector<Slice>& records);

}  // namespace jfs::meta
