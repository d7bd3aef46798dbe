#pragma once
// Where each LLaVA-OneVision image token looks in the ORIGINAL image: the
// rectangle its patch covers, in original pixels, after undoing each step
// the pixels went through (TokenAnnotation::x0..y1). The host marks object
// tokens by overlap with these rectangles, so the mapping of an annotation
// onto the crops lives here, beside the layout it inverts.
//   base crop (crop 0): the original resized straight to crop_size x crop_size;
//     patch (r, c) covers [c P, (c+1) P) x [r P, (r+1) P) of the crop.
//   packed grid (crop 1): cell (r, c) is, before a downscale, the unpadded grid's
//     cell (r, c) (with a downscale, rows [r rows/out_rows, (r+1) rows/out_rows)
//     of it, the bilinear resize's footprint without its taps); that is canvas
//     patch (r + top, c + left); canvas patch R of tile t = R div side covers
//     [t S + k P, t S + (k+1) P), k = R mod side (a tile's last S - side P pixels
//     feed no patch); the canvas is the aspect-kept resize padded by
//     (pad_top, pad_left): subtract, clip to the resized image, scale back.
//   newline tokens (separators): no extent.
#include <vector>

#include "mechlens/input.hpp"
#include "models/llava_onevision/llava_packing.hpp"

namespace mechlens::models::llava_onevision {

// How the processor made the crops (vision::AnyresPlan's numbers).
struct PixelGeometry {
  int height = 0, width = 0;                  // original
  int resized_height = 0, resized_width = 0;  // aspect-kept resize before padding
  int pad_top = 0, pad_left = 0;
  int tile = 0;                               // tile side in canvas pixels
};

// `annotations` as pack_annotations(layout) made them (same order); fills x0..y1.
void set_patch_extents(std::vector<TokenAnnotation>& annotations, const PackLayout& layout, const PixelGeometry& pixels,
                       int crop_size, int patch_size);

}  // namespace mechlens::models::llava_onevision
