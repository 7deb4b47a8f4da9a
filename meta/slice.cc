// A transcription of JuiceFS's buildSlice (pkg/meta/slice.go) that keeps its exact output,
// including its quirks: gap fillers created while cutting are id-0 pieces with size 0 (and, when
// a filler is itself cut, a non-zero off), whereas the leading gap emitted by the traversal has
// size == len; zero-length records stay in the tree and are emitted as zero-length pieces; all
// position arithmetic is uint32 and wraps like Go's. The Go code recurses; here cut and the
// in-order walk are loops over an index-linked arena, so a chunk with a very long record list (a
// degenerate, list-shaped tree) cannot exhaust the stack.
#include "meta/slice.h"

#include <cstdint>
#include <deque>
#include <vector>

namespace jfs::meta {
namespace {

constexpr int32_t kNil = -1;

struct Node {
  uint32_t pos;
  uint64_t id;
  uint32_t size;
  uint32_t off;
  uint32_t len;
  int32_t left = kNil;
  int32_t right = kNil;
};

class SliceTree {
 public:
  // newSlice: a zero-length piece is "no node".
  int32_t NewPiece(uint32_t pos, uint64_t id, uint32_t size, uint32_t off, uint32_t len) {
    if (len == 0) return kNil;
    return Add(Node{pos, id, size, off, len});
  }

  int32_t Add(const Node& n) {
    nodes_.push_back(n);
    return static_cast<int32_t>(nodes_.size() - 1);  // < 3 * records + 1, far below INT32_MAX
  }

  Node& at(int32_t i) { return nodes_[static_cast<size_t>(i)]; }

  // slice.cut: splits the tree rooted at `root` into the pieces before `pos` (*left) and from
  // `pos` on (*right), creating id-0 fillers for uncovered ranges that the cut walks through.
  void Cut(int32_t root, uint32_t pos, int32_t* left, int32_t* right) {
    // Where the next left/right result of the (recursive, in Go) descent must be stored.
    int32_t* left_slot = left;
    int32_t* right_slot = right;
    int32_t s = root;
    while (true) {
      if (s == kNil) {
        *left_slot = kNil;
        *right_slot = kNil;
        return;
      }
      if (pos <= at(s).pos) {
        if (at(s).left == kNil) {
          int32_t filler = NewPiece(pos, 0, 0, 0, at(s).pos - pos);
          at(s).left = filler;
        }
        // left, s.left = s.left.cut(pos); return left, s
        *right_slot = s;
        right_slot = &at(s).left;
        s = at(s).left;
      } else if (pos < at(s).pos + at(s).len) {
        uint32_t l = pos - at(s).pos;
        const Node cur = at(s);
        // pos lies strictly inside the piece here, so the right part is never empty.
        int32_t r = NewPiece(pos, cur.id, cur.size, cur.off + l, cur.len - l);
        at(r).right = cur.right;
        at(s).len = l;
        at(s).right = kNil;
        *left_slot = s;
        *right_slot = r;
        return;
      } else {
        if (at(s).right == kNil) {
          const Node cur = at(s);
          int32_t filler = NewPiece(cur.pos + cur.len, 0, 0, 0, pos - cur.pos - cur.len);
          at(s).right = filler;
        }
        // s.right, right = s.right.cut(pos); return s, right
        *left_slot = s;
        left_slot = &at(s).right;
        s = at(s).right;
      }
    }
  }

  // In-order traversal (left, node, right).
  template <typename F>
  void Visit(int32_t root, F&& f) {
    std::vector<int32_t> stack;
    int32_t s = root;
    while (s != kNil || !stack.empty()) {
      while (s != kNil) {
        stack.push_back(s);
        s = at(s).left;
      }
      s = stack.back();
      stack.pop_back();
      f(at(s));
      s = at(s).right;
    }
  }

 private:
  std::deque<Node> nodes_;  // deque: the result slots Cut holds stay valid while it adds nodes
};

}  // namespace

std::vector<SliceView> BuildSlices(const std::vector<Slice>& records) {
  SliceTree tree;
  int32_t root = kNil;
  for (const Slice& rec : records) {
    // buildSlice copies every record as a node, zero-length ones included.
    int32_t s = tree.Add(Node{rec.pos, rec.id, rec.size, rec.off, rec.len});
    int32_t left = kNil, right = kNil, discarded = kNil, rest = kNil;
    tree.Cut(root, rec.pos, &left, &right);
    tree.Cut(right, rec.pos + rec.len, &discarded, &rest);
    tree.at(s).left = left;
    tree.at(s).right = rest;
    root = s;
  }
  std::vector<SliceView> out;
  uint32_t pos = 0;
  tree.Visit(root, [&](const Node& n) {
    if (n.pos > pos) {
      out.push_back(SliceView{0, n.pos - pos, 0, n.pos - pos});
      pos = n.pos;
    }
    out.push_back(SliceView{n.id, n.size, n.off, n.len});
    pos += n.len;
  });
  return out;
}

}  // namespace jfs::meta
