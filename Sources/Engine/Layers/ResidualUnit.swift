/// A basic residual unit (spherenet.md §5): conv-BN-ReLU-conv-BN on the main path, identity
/// or 1×1 conv + BN on the shortcut, ReLU after the sum.
public final class ResidualUnit: Layer {
    /// The main branch works over dy after the shortcut has read it.
    public var bufferUse: BufferUse { BufferUse(overwritesOutputGradient: true) }
    public let name: String
    public var needsInputGradient = true {
        didSet { conv1.needsInputGradient = needsInputGradient; shortcutConv?.needsInputGradient = needsInputGradient }
    }
    public let conv1: Conv2D, bn1: BatchNorm2D, conv2: Conv2D, bn2: BatchNorm2D
    public let shortcutConv: Conv2D?, shortcutBN: BatchNorm2D?
    private let relu1: ReLU
    private let output: FloatBuffer          // (C, N, H, W) relu(main + shortcut), in the workspace
    private let inputGradient: FloatBuffer   // (C, N, H, W), in the workspace
    private var input: Activation?

    public init(name: String, inChannels: Int, outChannels: Int, stride: Int, variant: ConvVariant,
                statistics: BatchNormStatistics, workspace: Workspace) {
        self.name = name
        output = workspace.buffer(name, "output")
        inputGradient = workspace.buffer(name, "inputGradient")
        conv1 = Conv2D(name: "\(name).conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride,
                       padding: 1, variant: variant, workspace: workspace)
        bn1 = BatchNorm2D(name: "\(name).bn1", channels: outChannels, statistics: statistics, workspace: workspace)
        relu1 = ReLU(name: "\(name).relu1")
        conv2 = Conv2D(name: "\(name).conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3,
                       padding: 1, variant: variant, workspace: workspace)
        bn2 = BatchNorm2D(name: "\(name).bn2", channels: outChannels, statistics: statistics, workspace: workspace)
        if ModelPlan.hasShortcut(inChannels: inChannels, outChannels: outChannels, stride: stride) {
            shortcutConv = Conv2D(name: "\(name).shortcut.0", inChannels: inChannels, outChannels: outChannels, kernel: 1,
                                  stride: stride, padding: 0, variant: .conv, sphereCapable: false, workspace: workspace)
            shortcutBN = BatchNorm2D(name: "\(name).shortcut.1", channels: outChannels, statistics: statistics, workspace: workspace)
        } else {
            shortcutConv = nil; shortcutBN = nil
        }
        fuseBatchNormReLU(mainBranch)   // bn1 applies relu1
    }

    /// The main branch in forward order (for the buffer-use check).
    var mainBranch: [Layer] { [conv1, bn1, relu1, conv2, bn2] }

    var children: [Layer] {
        var all: [Layer] = [conv1, bn1, conv2, bn2]
        if let sc = shortcutConv, let sb = shortcutBN { all += [sc, sb] }
        return all
    }
    public var parameters: [Parameter] { children.flatMap(\.parameters) }
    public var savedParameters: [Parameter] { children.flatMap(\.savedParameters) }
    public var stateBuffers: [StateBuffer] { children.flatMap(\.stateBuffers) }

    public func outputShape(for s: Shape) throws -> Shape {
        let main = try bn2.outputShape(for: conv2.outputShape(for: conv1.outputShape(for: s)))
        if let sc = shortcutConv {
            let short = try sc.outputShape(for: s)
            guard short == main else { throw EngineError("\(name): shortcut \(short) and main path \(main) differ") }
        } else if main != s {
            throw EngineError("\(name): identity shortcut needs matching shapes, got \(s) → \(main)")
        }
        return main
    }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        input = x
        var h = conv1.forward(x, training: training)
        h = relu1.forward(bn1.forward(h, training: training), training: training)
        h = bn2.forward(conv2.forward(h, training: training), training: training)
        let short = shortcutConv.map { shortcutBN!.forward($0.forward(x, training: training), training: training) } ?? x
        output.ensure(count: h.shape.count)
        let a = h.buffer.pointer, b = short.buffer.pointer, y = output.pointer
        for i in 0..<h.shape.count { y[i] = max(a[i] + b[i], 0) }
        return Activation(output, h.shape)
    }

    public func backward(_ dy: Activation) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before forward") }
        let g = dy.buffer.pointer, y = output.pointer
        for i in 0..<dy.shape.count where !(y[i] > 0) { g[i] = 0 }
        // The shortcut branch reads dy before the main branch overwrites it in place.
        var shortGrad: Activation?
        if let sc = shortcutConv, let sb = shortcutBN {
            inputGradient.ensure(count: dy.shape.count)   // scratch copy of dy for the shortcut
            inputGradient.pointer.update(from: g, count: dy.shape.count)
            let d = sb.backward(Activation(inputGradient, dy.shape))!
            shortGrad = sc.backward(d)
        }
        // Identity shortcut: dx = dy + main-path dx; keep dy before the main path consumes it.
        let identity = shortcutConv == nil
        if identity && needsInputGradient {
            inputGradient.ensure(count: x.shape.count)
            inputGradient.pointer.update(from: g, count: x.shape.count)
        }
        var d = bn2.backward(dy)!
        d = conv2.backward(d)!
        d = relu1.backward(d)!
        d = bn1.backward(d)!
        let mainGrad = conv1.backward(d)
        guard needsInputGradient, let main = mainGrad else { return nil }
        if identity {
            let dx = inputGradient.pointer, m = main.buffer.pointer
            for i in 0..<x.shape.count { dx[i] += m[i] }
            return Activation(inputGradient, x.shape)
        }
        // Projection shortcut: add its input gradient onto the main path's (owned by conv1).
        let m = main.buffer.pointer, s = shortGrad!.buffer.pointer
        for i in 0..<x.shape.count { m[i] += s[i] }
        return main
    }
}
