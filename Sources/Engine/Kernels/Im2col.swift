import CKernels

/// Geometry of a 2-D convolution or pooling window.
public struct ConvGeometry: Equatable, Sendable {
    public var inChannels: Int, inHeight: Int, inWidth: Int
    public var kernel: Int, stride: Int, padding: Int
    public var outHeight: Int { (inHeight + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (inWidth + 2 * padding - kernel) / stride + 1 }
    /// Rows of the patch matrix: IC·KH·KW, ordered like a flattened OIHW kernel row.
    public var patchSize: Int { inChannels * kernel * kernel }
    public var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
}

/// im2col for the channel-major layout (the C kernel `sl_im2col`, channels split across the
/// workers).
///
/// Input x: (C, N, H, W). Output col: (C·K·K) × (count·OH·OW), row-major, for the images
/// `firstImage ..< firstImage + count`; column index (n − firstImage)·OH·OW + oh·OW + ow.
/// Positions outside the image read as zero (padding counts as 0 in the patch norm too).
func im2col(_ x: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
            firstImage: Int, count: Int, col: UnsafeMutablePointer<Float>) {
    precondition(g.patchSize * count * g.outHeight * g.outWidth <= Int(Int32.max) && g.inChannels * batch * g.inHeight * g.inWidth <= Int(Int32.max),
                 "patch matrix exceeds the kernels' index range")
    Parallel.forEach(g.inChannels) { channels in
        sl_im2col(x, Int32(batch), Int32(g.inHeight), Int32(g.inWidth), Int32(g.kernel), Int32(g.stride), Int32(g.padding),
                  Int32(firstImage), Int32(count), Int32(channels.lowerBound), Int32(channels.upperBound), col)
    }
}

/// col2im: the adjoint of `im2col`. Adds the patch-matrix gradient back onto dx (C, N, H, W)
/// for the images `firstImage ..< firstImage + count`; dx must be zeroed by the caller first.
func col2im(_ col: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
            firstImage: Int, count: Int, dx: UnsafeMutablePointer<Float>) {
    let oh = g.outHeight, ow = g.outWidth, h = g.inHeight, w = g.inWidth
    let k = g.kernel, s = g.stride, p = g.padding
    let columns = count * oh * ow
    // Each channel's rows add into that channel's planes only: channels split safely.
    Parallel.forEach(g.inChannels) { channels in
    for c in channels {
        for kh in 0..<k {
            for kw in 0..<k {
                let row = col + ((c * k + kh) * k + kw) * columns
                let (owLo, owHi) = validOutputRange(outSize: ow, inSize: w, offset: kw - p, stride: s)
                for n in 0..<count {
                    let plane = dx + ((c * batch) + firstImage + n) * h * w
                    let src = row + n * oh * ow
                    for y in 0..<oh {
                        let iy = y * s - p + kh
                        if iy < 0 || iy >= h { continue }
                        let dst = plane + iy * w - p + kw
                        let line = src + y * ow
                        if s == 1 {
                            for xo in owLo..<owHi { dst[xo] += line[xo] }
                        } else {
                            for xo in owLo..<owHi { dst[xo * s] += line[xo] }
                        }
                    }
                }
            }
        }
    }
    }
}

/// Output indices o in [lo, hi) whose input index o·stride + offset lies in [0, inSize).
@inline(__always)
func validOutputRange(outSize: Int, inSize: Int, offset: Int, stride: Int) -> (Int, Int) {
    // lo = ceil(-offset / stride), hi = floor((inSize - 1 - offset) / stride) + 1, clamped.
    func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    let lo = min(outSize, max(0, -floorDiv(offset, stride)))
    let hi = max(lo, min(outSize, floorDiv(inSize - 1 - offset, stride) + 1))
    return (lo, hi)
}

/// The slow obvious twin of `im2col` (tests hold them equal).
func referenceIm2col(_ x: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
                     firstImage: Int, count: Int, col: UnsafeMutablePointer<Float>) {
    let oh = g.outHeight, ow = g.outWidth, k = g.kernel
    let columns = count * oh * ow
    for c in 0..<g.inChannels { for kh in 0..<k { for kw in 0..<k {
        for n in 0..<count { for y in 0..<oh { for xo in 0..<ow {
            let iy = y * g.stride - g.padding + kh, ix = xo * g.stride - g.padding + kw
            var v: Float = 0
            if iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth {
                v = x[((c * batch + firstImage + n) * g.inHeight + iy) * g.inWidth + ix]
            }
            col[((c * k + kh) * k + kw) * columns + (n * oh + y) * ow + xo] = v
        } } }
    } } }
}
