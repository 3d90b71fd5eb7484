/// The arithmetic of a model's convolutions per image, counted as direct convolution:
/// 2 · Cin · Cout · k · k · Hout · Wout FLOP (one multiply and one add per weight tap and
/// output pixel) for every convolution of the plan — fc6 and residual shortcuts included, the
/// score layer (a row product in the loss head, not a convolution) not.
///
/// This is the yardstick for "convolution work against the sgemm rate": a fixed count per
/// model, whatever the engine actually computes (Winograd does 2.25× fewer multiply-adds in
/// its 3×3 layers, im2col the same number), so rates of different engines and builds compare.
public struct ConvolutionWork: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var name: String
        /// Forward FLOP for one image.
        public var flop: Int
    }

    /// Every convolution in network order.
    public let layers: [Layer]

    public init(plan: ModelPlan) {
        var layers: [Layer] = []
        var (h, w) = (plan.spec.inputHeight, plan.spec.inputWidth)
        func outSize(_ size: Int, _ k: Int, _ pad: Int, _ stride: Int) -> Int { max(1, (size + 2 * pad - k) / stride + 1) }
        /// Adds a convolution read from the current map and returns its output size.
        func conv(_ name: String, _ i: Int, _ o: Int, _ k: Int, _ pad: Int, _ stride: Int, from size: (Int, Int)) -> (Int, Int) {
            let (oh, ow) = (outSize(size.0, k, pad, stride), outSize(size.1, k, pad, stride))
            layers.append(Layer(name: name, flop: 2 * i * o * k * k * oh * ow))
            return (oh, ow)
        }
        for step in plan.steps {
            switch step {
            case .conv(let name, let i, let o, let k, let pad):
                (h, w) = conv(name, i, o, k, pad, 1, from: (h, w))
            case .maxPool:
                (h, w) = ((h + 1) / 2, (w + 1) / 2)
            case .globalPool:
                (h, w) = (1, 1)
            case .residual(let name, let i, let o, let stride):
                let input = (h, w)
                let mid = conv("\(name).conv1", i, o, 3, 1, stride, from: input)
                (h, w) = conv("\(name).conv2", o, o, 3, 1, 1, from: mid)
                if ModelPlan.hasShortcut(inChannels: i, outChannels: o, stride: stride) {
                    _ = conv("\(name).shortcut.0", i, o, 1, 0, stride, from: input)
                }
            case .batchNorm, .affine, .relu:
                break
            }
        }
        self.layers = layers
    }

    /// FLOP of one image's forward pass through every convolution.
    public var forwardFLOPPerImage: Int { layers.reduce(0) { $0 + $1.flop } }

    /// FLOP of one image's training step: the forward pass, the input gradient and the weight
    /// gradient each do the forward's multiply-adds. The engine skips the first layer's input
    /// gradient (nothing needs it); it is counted anyway, as the README's cifar-w1 figure was
    /// (3 × the forward), so the figure stays one fixed multiple of the forward pass.
    public var trainingFLOPPerImage: Int { 3 * forwardFLOPPerImage }
}
