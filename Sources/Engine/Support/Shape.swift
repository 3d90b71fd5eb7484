/// Shape of an activation in SphereLab's channel-major layout (C, N, H, W):
/// element (c, n, y, x) sits at ((c·N + n)·H + y)·W + x. Every channel is one contiguous
/// block of N·H·W values, so a convolution's GEMM output (OC × N·OH·OW) *is* the next
/// layer's input and per-channel statistics (BatchNorm) run over contiguous memory.
public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var batch: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, batch: Int, height: Int, width: Int) {
        self.channels = channels; self.batch = batch; self.height = height; self.width = width
    }

    public var count: Int { channels * batch * height * width }
    /// Values per channel: N·H·W.
    public var plane: Int { batch * height * width }
    public var spatial: Int { height * width }
    public var description: String { "(C \(channels), N \(batch), H \(height), W \(width))" }
}

/// An activation: a layer's output buffer together with its shape. The buffer belongs to the
/// layer that produced it and is valid until that layer's next forward pass.
public struct Activation {
    public let buffer: FloatBuffer
    public let shape: Shape
    public init(_ buffer: FloatBuffer, _ shape: Shape) {
        assert(buffer.count == shape.count, "buffer of \(buffer.count) for shape \(shape)")
        self.buffer = buffer; self.shape = shape
    }
}

/// An error in a model's configuration (shapes that do not fit, bad widths, …).
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
