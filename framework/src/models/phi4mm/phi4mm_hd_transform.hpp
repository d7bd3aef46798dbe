#pragma once
// Phi-4-multimodal's dynamic HD transform for one image, as
// Phi4MMImageProcessor.dynamic_preprocess / preprocess
// (processing_phi4mm.py of microsoft/Phi-4-multimodal-instruct; the
// transformers-native Phi4MultimodalImageProcessorFast has the same
// geometry):
//   crops    = ceil(w / S) x ceil(h / S) (S = crop size, 448); when that is
//              more than dynamic_hd (36), the (i, j) with i * j <= dynamic_hd
//              whose i / j is closest to w / h (ties: the larger product when
//              w * h > S^2 * i * j / 2), walked in order of i * j
//   resize   keep the aspect ratio into the (i S) x (j S) canvas: the side
//            with the smaller ratio fills it, the other is int(side * ratio);
//            PIL BILINEAR on the uint8 image (torchvision's resize on a PIL image)
//   pad      white (255) on the right or bottom only
//   mask     (j G) x (i G) patches (G = S / patch, 32), the last
//            floor(pad / patch) columns or rows zeroed when pad >= patch
//   pixels   ToTensor (u / 255 in float32), Normalize((x - 0.5) / 0.5);
//            crops row-major; the global view = F.interpolate(canvas, (S, S),
//            mode="bicubic", align_corners=False) of the normalised canvas, first
//   tokens   side = G / 2 tokens per crop side after 2x2 pooling; the mask
//            sampled at even rows/columns gives the kept sub tokens
//            (token_rows x token_cols of the (j side) x (i side) sub grid);
//            count = side^2 (global) + 1 (glb_GN) + kept sub tokens
//            + token_rows (one sub_GN per kept sub row) + side (one sub_GN per
//            global row). 448 x 448 -> 256 + 1 + 256 + 16 + 16 = 545.
// All integer steps follow Python's semantics on doubles (int() truncation,
// true division), so counts agree with the processor on every size.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "mechlens/input.hpp"
#include "vision/image.hpp"

namespace mechlens::models::phi4mm {

struct HdConfig {
  int crop_size = 448;   // embd_layer.image_embd_layer.crop_size (= the tower's image_size)
  int patch_size = 14;
  int dynamic_hd = 36;   // preprocessor_config.json
};

struct HdGeometry {
  int width = 0, height = 0;          // original image
  int crops_w = 0, crops_h = 0;       // columns and rows of crops (target_aspect_ratio)
  int resized_w = 0, resized_h = 0;   // aspect-kept resize (new_size)
  int pad_w = 0, pad_h = 0;           // white padding right / bottom
  int grid = 0;                       // patches per crop side (G)
  int mask_cols = 0, mask_rows = 0;   // kept patch columns / rows of the whole (crops_h G) x (crops_w G) mask
  int side = 0;                       // tokens per crop side after 2x2 pooling
  int token_rows = 0, token_cols = 0; // kept rows / columns of the (crops_h side) x (crops_w side) sub grid

  int crops() const { return crops_w * crops_h; }
  int canvas_w(int crop_size) const { return crops_w * crop_size; }
  int canvas_h(int crop_size) const { return crops_h * crop_size; }
  std::int64_t sub_tokens() const { return std::int64_t(token_rows) * token_cols; }
  // The processor's num_img_tokens.
  std::int64_t tokens() const { return std::int64_t(side) * side + 1 + sub_tokens() + token_rows + side; }
};

// Geometry of an image of width x height (errors name the image size, as the
// processor's "the aspect ratio is very extreme").
HdGeometry hd_geometry(int width, int height, const HdConfig& config);

struct HdImage {
  HdGeometry geometry;
  at::Tensor pixel_values;  // [1 + crops, 3, S, S] float32: the global view, then the crops row-major
  at::Tensor patch_mask;    // [1 + crops, G, G] bool: true = a real patch (the global view all true)
};

// The whole transform of a decoded image.
HdImage hd_transform(const vision::RgbImage& image, const HdConfig& config);

// The uint8 canvas after resize and pad (for tests against PIL).
vision::RgbImage hd_canvas(const vision::RgbImage& image, const HdGeometry& geometry, int crop_size);

// One annotation per image token in the model's order (hd_transform_order
// "sub_glb"), like LLaVA-OneVision's: the kept sub grid is crop 1 with
// (row, col) in the token_rows x token_cols grid and its sub_GN at col =
// token_cols; then glb_GN (a separator of no crop: crop = row = col = -1);
// then the global view, crop 0, (row, col) in its side x side grid, its
// sub_GN at col = side. x0..y1: the rectangle of the original image each
// token's 2x2 patches see (the global view scaled from the padded canvas;
// empty when it lies in the padding); separators have none.
std::vector<TokenAnnotation> hd_annotations(const HdGeometry& geometry, const HdConfig& config);

}  // namespace mechlens::models::phi4mm
