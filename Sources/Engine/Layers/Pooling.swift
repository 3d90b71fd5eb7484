import CKernels

/// 2×2 max pooling, stride 2, TensorFlow 'SAME' padding: output ⌈H/2⌉×⌈W/2⌉, windows that
/// run past the edge only see the pixels that exist (28 → 14 → 7 → 4).
public final class MaxPool2x2: Layer {
    public let name: String
    public var needsInputGradient = true
    // In the workspace (per-step buffers, shared by a race's contenders).
    private let output: FloatBuffer                    // (C, N, OH, OW)
    private let argmax: FloatBuffer                    // (C, N, OH, OW) flat input index, Int32 bits
    private var inputGradient: FloatBuffer             // (C, N, H, W); may be one `Network` shares
    private var inputShape = Shape(channels: 0, batch: 0, height: 0, width: 0)
    /// The input shape of the last *training* forward pass: the only pass that writes
    /// `argmax`. nil until one ran, and again after an inference pass, so a backward can
    /// never scatter through stale indices.
    private var indicesFor: Shape?

    public init(name: String, workspace: Workspace = Workspace()) {
        self.name = name
        output = workspace.buffer(name, "output")
        argmax = workspace.buffer(name, "argmax")
        inputGradient = workspace.buffer(name, "inputGradient")
    }

    func useInputGradient(_ buffer: FloatBuffer) { inputGradient = buffer }

    public func outputShape(for s: Shape) throws -> Shape {
        Shape(channels: s.channels, batch: s.batch, height: (s.height + 1) / 2, width: (s.width + 1) / 2)
    }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        let s = x.shape
        inputShape = s
        let o = try! outputShape(for: s)   // cannot fail: any size ≥ 1 pools
        output.ensure(count: o.count)
        if training { argmax.ensure(count: o.count) }   // inference needs no indices
        let src = x.buffer.pointer, dst = output.pointer
        precondition(s.count <= Int(Int32.max), "\(name): \(s.count) values exceed the pooling kernel's index range")
        argmax.pointer.withMemoryRebound(to: Int32.self, capacity: max(1, argmax.count)) { argmaxBase in
            let idx = training ? argmaxBase : nil
            let (h, w) = (Int32(s.height), Int32(s.width))
            Parallel.forEach(s.channels * s.batch, minimumPerWorker: 16) { planes in
                sl_maxpool2x2(src, h, w, planes.lowerBound, planes.upperBound, dst, idx)
            }
        }
        indicesFor = training ? s : nil
        return Activation(output, o)
    }

    /// This layer's output for an inference pass over an input of shape `s` that the
    /// convolution before it pools itself (`Network.forwardFolded`): the buffer to write, and no
    /// indices, as after an inference pass of its own.
    func inferenceOutput(for s: Shape) -> Activation {
        inputShape = s
        let o = try! outputShape(for: s)   // cannot fail: any size ≥ 1 pools
        output.ensure(count: o.count)
        indicesFor = nil
        return Activation(output, o)
    }

    public func backward(_ dy: Activation) -> Activation? {
        guard needsInputGradient else { return nil }
        // Safe by construction: the indices exist only after a training forward of this
        // input, and dy must have that pass's output shape.
        guard let s = indicesFor, s == inputShape else {
            preconditionFailure("\(name): backward needs a training forward pass first (the last pass was inference, so its pooling indices do not exist)")
        }
        precondition(dy.shape == (try? outputShape(for: s)), "\(name): output gradient \(dy.shape) does not match the forward output")
        inputGradient.ensure(count: inputShape.count)
        inputGradient.zero()
        let g = dy.buffer.pointer, dx = inputGradient.pointer
        // Windows never overlap, so each output's gradient lands on its own input pixel.
        argmax.pointer.withMemoryRebound(to: Int32.self, capacity: dy.shape.count) { idx in
            Parallel.forEach(dy.shape.count, minimumPerWorker: 1 << 14) { r in
                for i in r {
                    assert(idx[i] >= 0 && Int(idx[i]) < s.count, "pooling index out of range")
                    dx[Int(idx[i])] += g[i]
                }
            }
        }
        return Activation(inputGradient, inputShape)
    }
}

/// Average over all positions of each channel and image: (C, N, H, W) → (C, N, 1, 1).
public final class GlobalAveragePool: Layer {
    public let name: String
    public var needsInputGradient = true
    private let output: FloatBuffer          // (C, N, 1, 1), in the workspace
    private var inputGradient: FloatBuffer   // (C, N, H, W), in the workspace; may be one `Network` shares
    private var inputShape = Shape(channels: 0, batch: 0, height: 0, width: 0)

    public init(name: String, workspace: Workspace = Workspace()) {
        self.name = name
        output = workspace.buffer(name, "output")
        inputGradient = workspace.buffer(name, "inputGradient")
    }

    func useInputGradient(_ buffer: FloatBuffer) { inputGradient = buffer }

    public func outputShape(for s: Shape) throws -> Shape {
        Shape(channels: s.channels, batch: s.batch, height: 1, width: 1)
    }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        let s = x.shape
        inputShape = s
        let planes = s.channels * s.batch, area = s.spatial
        output.ensure(count: planes)
        let src = x.buffer.pointer
        for i in 0..<planes {
            var sum: Float = 0
            for j in 0..<area { sum += src[i * area + j] }
            output[i] = sum / Float(area)
        }
        return Activation(output, Shape(channels: s.channels, batch: s.batch, height: 1, width: 1))
    }

    public func backward(_ dy: Activation) -> Activation? {
        guard needsInputGradient else { return nil }
        let s = inputShape, area = s.spatial
        inputGradient.ensure(count: s.count)
        let dx = inputGradient.pointer, g = dy.buffer.pointer
        for i in 0..<(s.channels * s.batch) {
            let v = g[i] / Float(area)
            for j in 0..<area { dx[i * area + j] = v }
        }
        return Activation(inputGradient, s)
    }
}
