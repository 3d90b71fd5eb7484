/// The memory a network needs only while it computes: the patch matrices of the convolutions
/// (im2col / Winograd tiles) and every layer's per-step buffers — outputs, input gradients,
/// saved intermediates read by backward — and the trainer's batch buffers. Nothing in here
/// survives from one step to the next; what must (weights, gradients, optimizer moments,
/// BatchNorm running statistics, history) lives in the network, its layers and its trainer.
///
/// Networks used one at a time — a race's contenders — share one workspace: a buffer is
/// named by the layer and its role (`features.3/output`), so the same layer of every
/// contender uses the same buffer, grown to the largest contender's need the first time that
/// contender computes, and a race holds one network's activations instead of one per run.
/// Within one network the names are distinct (the plan names every layer once), so no two
/// buffers a step needs at the same time can coincide. Buffers are handed out when layers are
/// built, never during a step.
public final class Workspace {
    /// Upper bound for one patch-matrix chunk, in floats (16 MiB): keeps im2col data in the
    /// last-level cache's neighbourhood and memory flat for wide networks.
    public var chunkElements: Int
    let columns = FloatBuffer()
    let columnGradients = FloatBuffer()
    /// Per worker, a panel of transposed input tiles for the Winograd passes' weight gradient.
    let transposedTiles = FloatBuffer()
    private var named: [String: FloatBuffer] = [:]
    /// The network whose pass last wrote the shared buffers: what a layer kept from its own
    /// last pass (an input for the angle probe) is that network's only while it holds them.
    private(set) var holder: ObjectIdentifier?

    /// Writes so far to the buffer BatchNorm layers share for their outputs (`Network.
    /// recomputeNormalizedOutputs`): a layer compares it with the count at its own last write to
    /// know whether the buffer still holds its output.
    private(set) var sharedOutputWrites = 0

    func recordSharedOutputWrite() -> Int {
        sharedOutputWrites &+= 1
        return sharedOutputWrites
    }

    public init(chunkElements: Int = 1 << 22) { self.chunkElements = chunkElements }

    /// The buffer for `role` of layer `layer` (created empty on first use; the same object
    /// for every network that asks with the same names).
    func buffer(_ layer: String, _ role: String) -> FloatBuffer {
        let key = layer + "/" + role
        if let b = named[key] { return b }
        let b = FloatBuffer()
        named[key] = b
        return b
    }

    /// Marks `network` as the one whose data the shared buffers now hold.
    func claim(for network: AnyObject) { holder = ObjectIdentifier(network) }

    func isHeld(by network: AnyObject) -> Bool { holder == ObjectIdentifier(network) }

    /// Every buffer's name and capacity in bytes, largest first.
    public var inventory: [(name: String, bytes: Int)] {
        var rows = named.map { (name: $0.key, bytes: $0.value.capacity * 4) }
        rows.append((name: "columns", bytes: columns.capacity * 4))
        rows.append((name: "columnGradients", bytes: columnGradients.capacity * 4))
        rows.append((name: "transposedTiles", bytes: transposedTiles.capacity * 4))
        return rows.sorted { $0.bytes > $1.bytes }
    }

    /// Bytes the workspace holds now (allocated capacity of every buffer in it).
    public var bytes: Int {
        var floats = columns.capacity + columnGradients.capacity + transposedTiles.capacity
        for b in named.values { floats += b.capacity }
        return floats * MemoryLayout<Float>.size
    }
}
