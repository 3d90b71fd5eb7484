/// Per-window sums over a single-channel map, for SphereConv's patch norms without the patch
/// matrix: ‖x_patch‖² = Σ over the window of (Σ_c x²) per pixel, so the norms cost one pass
/// over the input (C·N·H·W) instead of one over the K·M patch matrix (K = C·k², 9× larger for
/// a 3×3 kernel). Padding pixels count as 0, as they do in the patch matrix.

/// out[n, oh, ow] = Σ_{kh, kw} s[n, oh·stride − pad + kh, ow·stride − pad + kw] (in-image taps only).
/// s: (N, H, W); out: (N, OH, OW).
func windowSums(_ s: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
                into out: UnsafeMutablePointer<Float>) {
    let oh = g.outHeight, ow = g.outWidth, h = g.inHeight, w = g.inWidth
    let k = g.kernel, st = g.stride, p = g.padding
    Parallel.forEach(batch) { images in
        for n in images {
            let src = s + n * h * w, dst = out + n * oh * ow
            dst.update(repeating: 0, count: oh * ow)
            for kh in 0..<k {
                let (yLo, yHi) = validOutputRange(outSize: oh, inSize: h, offset: kh - p, stride: st)
                for kw in 0..<k {
                    let (xLo, xHi) = validOutputRange(outSize: ow, inSize: w, offset: kw - p, stride: st)
                    for y in yLo..<yHi {
                        let line = dst + y * ow, row = src + (y * st - p + kh) * w + kw - p
                        if st == 1 {
                            for x in xLo..<xHi { line[x] += row[x] }
                        } else {
                            for x in xLo..<xHi { line[x] += row[x * st] }
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of `windowSums`: each output position's value a[n, oh, ow] is added to every
/// in-image pixel of its window. a: (N, OH, OW); b: (N, H, W), overwritten.
func windowSpread(_ a: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
                  into b: UnsafeMutablePointer<Float>) {
    let oh = g.outHeight, ow = g.outWidth, h = g.inHeight, w = g.inWidth
    let k = g.kernel, st = g.stride, p = g.padding
    Parallel.forEach(batch) { images in
        for n in images {
            let src = a + n * oh * ow, dst = b + n * h * w
            dst.update(repeating: 0, count: h * w)
            for kh in 0..<k {
                let (yLo, yHi) = validOutputRange(outSize: oh, inSize: h, offset: kh - p, stride: st)
                for kw in 0..<k {
                    let (xLo, xHi) = validOutputRange(outSize: ow, inSize: w, offset: kw - p, stride: st)
                    for y in yLo..<yHi {
                        let line = src + y * ow, row = dst + (y * st - p + kh) * w + kw - p
                        if st == 1 {
                            for x in xLo..<xHi { row[x] += line[x] }
                        } else {
                            for x in xLo..<xHi { row[x * st] += line[x] }
                        }
                    }
                }
            }
        }
    }
}
