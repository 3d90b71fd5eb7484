// Batch layout shared by training and evaluation.
//
// The engine keeps activations in (C, N, H, W) order — "channel-major", the batch inside
// each channel — so a convolution is one im2col plus one GEMM per layer with no
// transposes. Batches are therefore written straight into that order:
//
//     element (c, n, y, x) lives at ((c * N + n) * H + y) * W + x
//
// where N is the number of example slots in the buffer. Pixels are normalised as
// (p − 127.5) / 128, which maps 0…255 onto −0.99609375…+0.99609375 exactly (both steps
// are exact in Float), centred on zero without dataset statistics.

/// The float value the engine sees for pixel byte `value`: (value − 127.5) / 128.
@inline(__always)
public func normalisedPixel(_ value: UInt8) -> Float {
    (Float(value) - 127.5) * 0.0078125
}

/// Fills examples `start..<start+count` of `set` in order, without augmentation, into a
/// (C, N, H, W) float buffer with N = `count` — element (c, n, y, x) at
/// `((c*count + n)*H + y)*W + x` — and their class ids into `labels[0..<count]`.
/// For evaluation. `images` needs at least `channels*count*height*width` elements.
public func fillSequentialBatch(from set: ImageSet, start: Int, count: Int,
                                images: UnsafeMutableBufferPointer<Float>,
                                labels: UnsafeMutableBufferPointer<Int32>) {
    fillSequentialBatch(from: set, start: start, count: count, slots: count, images: images, labels: labels)
}

/// As `fillSequentialBatch(from:start:count:images:labels:)`, but into a buffer laid out
/// for `slots` ≥ `count` examples (N = `slots`), so a short final batch can reuse the
/// full-size buffer. Slots `count..<slots` are left untouched.
public func fillSequentialBatch(from set: ImageSet, start: Int, count: Int, slots: Int,
                                images: UnsafeMutableBufferPointer<Float>,
                                labels: UnsafeMutableBufferPointer<Int32>) {
    precondition(start >= 0 && count >= 0 && start <= set.count - count,
                 "examples \(start)..<\(start + count) are outside the set of \(set.count)")
    precondition(slots >= count, "a batch of \(count) needs at least \(count) slots")
    precondition(images.count >= slots * set.imageSize && labels.count >= count,
                 "buffers too small for \(slots) slots of \(set.channels)×\(set.height)×\(set.width)")
    guard count > 0, let output = images.baseAddress else { return }
    let geometry = BatchGeometry(set: set, slots: slots)
    set.pixels.withUnsafeBufferPointer { pixels in
        guard let source = pixels.baseAddress else { return }
        for n in 0..<count {
            let example = start + n
            geometry.write(source + example * set.imageSize, into: output, slot: n,
                           shiftY: 0, shiftX: 0, flip: false, mirrorPad: false)
            labels[n] = Int32(set.labels[example])
        }
    }
}

/// Shape of one (C, N, H, W) batch buffer, and the routine that writes one example into it.
struct BatchGeometry {
    let channels: Int
    let height: Int
    let width: Int
    /// N: the number of example slots in the buffer.
    let slots: Int

    /// Writes one CHW byte image into slot `n`, shifted and optionally mirrored:
    /// output (y, x) takes source pixel (y + shiftY, x′ + shiftX) with x′ = W−1−x when
    /// `flip`, else x. That is "pad, crop at offset (shiftY+pad, shiftX+pad), then flip".
    /// Source pixels outside the image come from the mirrored border when `mirrorPad`,
    /// else are black (byte 0).
    func write(_ image: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, slot n: Int,
               shiftY: Int, shiftX: Int, flip: Bool, mirrorPad: Bool) {
        let (h, w) = (height, width)
        let padValue = normalisedPixel(0)
        for c in 0..<channels {
            let plane = image + c * h * w                        // (H, W) source bytes
            let outPlane = output + (c * slots + n) * h * w      // (H, W) floats in slot n
            for y in 0..<h {
                let out = outPlane + y * w
                var sy = y + shiftY
                if sy < 0 || sy >= h {
                    guard mirrorPad else {
                        out.update(repeating: padValue, count: w)
                        continue
                    }
                    sy = reflect(sy, size: h)
                }
                let row = plane + sy * w
                if shiftX == 0 && !flip {
                    for x in 0..<w { out[x] = normalisedPixel(row[x]) }
                    continue
                }
                for x in 0..<w {
                    var sx = (flip ? w - 1 - x : x) + shiftX
                    if sx < 0 || sx >= w {
                        guard mirrorPad else {
                            out[x] = padValue
                            continue
                        }
                        sx = reflect(sx, size: w)
                    }
                    out[x] = normalisedPixel(row[sx])
                }
            }
        }
    }
}

extension BatchGeometry {
    /// The geometry of `set`'s images with N = `slots`.
    init(set: ImageSet, slots: Int) {
        self.init(channels: set.channels, height: set.height, width: set.width, slots: slots)
    }
}

/// Folds an index outside `0..<size` back in by mirroring at the borders without
/// repeating the edge (…, 2, 1, | 0, 1, …, size−1 |, size−2, …), for any distance.
func reflect(_ index: Int, size: Int) -> Int {
    guard size > 1 else { return 0 }
    let period = 2 * (size - 1)
    let folded = ((index % period) + period) % period
    return folded < size ? folded : period - folded
}
