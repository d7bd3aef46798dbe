#pragma once
// Per-head result tables [layer, head, ...] kept in memory, restored from the
// archive on resume (NaN = not computed yet) and written whole after each
// layer, so a resumed run only redoes the layers not marked done.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/store.hpp"

namespace attentionviz {

class HeadTable {
 public:
  HeadTable(const mechlens::ResultGroup& group, std::string name, std::vector<std::int64_t> shape,
            std::vector<std::string> dims)
      : name_(std::move(name)), shape_(std::move(shape)), dims_(std::move(dims)) {
    std::int64_t size = 1;
    for (auto s : shape_) size *= s;
    inner_ = size / (shape_[0] * shape_[1]);
    values_.assign(static_cast<std::size_t>(size), std::nan(""));
    if (group.has(name_)) {
      std::vector<double> old = group.read_f64(name_);
      if (old.size() == values_.size()) values_ = std::move(old);
    }
  }
  // The values of head (li, hi): `inner` doubles.
  double* at(std::int64_t li, std::int64_t hi) { return values_.data() + (li * shape_[1] + hi) * inner_; }
  const double* at(std::int64_t li, std::int64_t hi) const { return values_.data() + (li * shape_[1] + hi) * inner_; }
  std::int64_t inner() const { return inner_; }
  void write(mechlens::ResultGroup& group) const {
    group.write(name_, {mechlens::ElementType::f64, shape_, values_.data()}, dims_);
  }

 private:
  std::string name_;
  std::vector<std::int64_t> shape_;
  std::vector<std::string> dims_;
  std::int64_t inner_ = 1;
  std::vector<double> values_;
};

}  // namespace attentionviz
