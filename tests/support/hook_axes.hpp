#pragma once
// Checks that every hook point's declared axes (Model::hook_points) match the
// tensor that fires there: one name per axis, and each named axis the size
// its name promises.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "mechlens/model.hpp"

namespace mechlens::testing {

// `sizes`: the size each axis name must have ("pos" → tokens, "crop" → crops, ...).
inline void expect_hook_axes_match(const Model& model, const Batch& batch,
                                   const std::map<std::string, std::int64_t>& sizes) {
  std::map<std::string, std::vector<std::int64_t>> fired;
  HookSet hooks;
  hooks.add_read("*", [&](const std::string& name, const at::Tensor& value) { fired[name] = value.sizes().vec(); });
  model.forward(batch, &hooks);
  const std::vector<HookPoint> points = model.hook_points();
  ASSERT_FALSE(points.empty());
  for (const HookPoint& p : points) {
    ASSERT_TRUE(fired.count(p.name)) << p.name << " never fired";
    const auto& shape = fired.at(p.name);
    ASSERT_EQ(shape.size(), p.dims.size()) << p.name;
    for (std::size_t a = 0; a < shape.size(); ++a) {
      const auto want = sizes.find(p.dims[a]);
      ASSERT_NE(want, sizes.end()) << p.name << ": axis name '" << p.dims[a] << "' has no expected size";
      EXPECT_EQ(shape[a], want->second) << p.name << " axis " << a << " (" << p.dims[a] << ")";
    }
  }
}

}  // namespace mechlens::testing
