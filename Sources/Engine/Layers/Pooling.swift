import CKernels

/// 2×2 max pooling, stride 2, TensorFlow 'SAME' padding: output ⌈H/2⌉×⌈W/2⌉, windows that
/// run past the edge only see the pixels that exist (28 → 14 → 7 → 4).
public final class MaxPool2x2: Layer {
    public let name: String
    public var needsInputGradient = true
    // In the workspace (per-step buffers, shared by a race's contenders).
    private let output: FloatBuffer                    // (C, N, OH, OW)
    private var inputGradient: FloatBuffer             // (C, N, H, W); may be one `Network` shares
    private var inputShape = Shape(channels: 0, batch: 0, height: 0, width: 0)
    /// The input of the last *training* forward pass, from which backward finds each window's
    /// winner again (keeping indices would cost a quarter of the input's memory). nil until one
    /// ran, and again after an inference pass, so a backward can never route through an input
    /// that is not the one this layer pooled.
    private var trainedInput: Activation?
    /// The BatchNorm whose output is the input when that output lives in a shared buffer
    /// (`Network.recomputeNormalizedOutputs`): backward rebuilds the values it compares from
    /// that BatchNorm's input (`outputRecipe`).
    var inputSource: BatchNorm2D?

    public init(name: String, workspace: Workspace = Workspace()) {
        self.name = name
        output = workspace.buffer(name, "output")
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
        let src = x.buffer.pointer, dst = output.pointer
        precondition(s.count <= Int(Int32.max), "\(name): \(s.count) values exceed the pooling kernel's index range")
        let (h, w) = (Int32(s.height), Int32(s.width))
        Parallel.forEach(s.channels * s.batch, minimumPerWorker: 16) { planes in
            sl_maxpool2x2(src, h, w, planes.lowerBound, planes.upperBound, dst)
        }
        trainedInput = training ? x : nil
        return Activation(output, o)
    }

    /// This layer's output for an inference pass over an input of shape `s` that the
    /// convolution before it pools itself (`Network.forwardFolded`): the buffer to write, and no
    /// input for backward, as after an inference pass of its own.
    func inferenceOutput(for s: Shape) -> Activation {
        inputShape = s
        let o = try! outputShape(for: s)   // cannot fail: any size ≥ 1 pools
        output.ensure(count: o.count)
        trainedInput = nil
        return Activation(output, o)
    }

    public func backward(_ dy: Activation) -> Activation? {
        guard needsInputGradient else { return nil }
        guard let x = trainedInput, x.shape == inputShape else {
            preconditionFailure("\(name): backward needs a training forward pass first (the last pass was inference)")
        }
        let s = x.shape
        precondition(dy.shape == (try? outputShape(for: s)), "\(name): output gradient \(dy.shape) does not match the forward output")
        inputGradient.ensure(count: s.count)
        let (g, dx) = (dy.buffer.pointer, inputGradient.pointer)
        let (h, w, batch) = (Int32(s.height), Int32(s.width), s.batch)
        // A BatchNorm output in the shared buffer is not written again: the kernel applies the
        // BatchNorm to each tap it compares.
        let recipe = inputSource?.outputRecipe
        precondition(inputSource == nil || recipe?.input.shape == s, "\(name): its BatchNorm's last training input is not this pass's")
        let src = recipe?.input.buffer.pointer ?? x.buffer.pointer
        let (scale, shift) = (recipe?.scale, recipe?.shift)
        let relu: Int32 = recipe?.relu == true ? 1 : 0
        // Windows never overlap, so planes split between workers write disjoint pixels.
        Parallel.forEach(s.channels * s.batch, minimumPerWorker: 16) { planes in
            sl_maxpool2x2_backward(src, h, w, planes.lowerBound, planes.upperBound, batch, scale, shift, relu, g, dx)
        }
        return Activation(inputGradient, s)
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
