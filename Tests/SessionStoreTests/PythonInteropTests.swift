import Foundation
import Testing
@testable import SessionStore

/// Checks against the reference implementation when Python has it. Nothing is installed here:
/// without `safetensors` (plus torch, or numpy as the lighter stand-in) the tests are skipped
/// with the reason printed by the test runner.
enum PythonSafeTensors {
    /// "torch" or "numpy" when `import safetensors` and that framework work, else nil.
    static let backend: String? = {
        let probe = """
            import safetensors
            try:
                import torch
                print("torch")
            except ImportError:
                import numpy
                print("numpy")
            """
        guard let result = try? runPython(["-c", probe]), result.status == 0 else { return nil }
        let name = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return ["torch", "numpy"].contains(name) ? name : nil
    }()

    static let skipReason: Comment =
        "python3 cannot import safetensors together with torch or numpy; interop with the reference implementation is not checked"

    static func runPython(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Both pipes are drained concurrently so a chatty child cannot block on a full pipe.
        let errorData = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errorData.get(), as: UTF8.self))
    }

    /// The helper script: `write PATH` saves a fixed set of tensors, `read PATH` loads a file and
    /// prints names, dtypes, shapes and values (as text, so no precision is lost in JSON).
    static let script = """
        import json, sys
        mode, path = sys.argv[1], sys.argv[2]
        try:
            import torch
            from safetensors.torch import save_file, load_file
            backend = "torch"
        except ImportError:
            import numpy as np
            from safetensors.numpy import save_file, load_file
            backend = "numpy"
        from safetensors import safe_open

        NAMES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32"}

        def dtype_name(t):
            return NAMES.get(str(t.dtype).replace("torch.", ""), str(t.dtype))

        def values(t):
            flat = t.flatten().tolist() if backend == "torch" else t.reshape(-1).tolist()
            return [repr(float(v)) if isinstance(v, float) else str(int(v)) for v in flat]

        if mode == "read":
            tensors = load_file(path)
            with safe_open(path, framework="pt" if backend == "torch" else "np") as f:
                metadata = f.metadata() or {}
            print(json.dumps({"backend": backend, "metadata": metadata, "tensors": {
                name: {"dtype": dtype_name(t), "shape": list(t.shape), "values": values(t)} for name, t in tensors.items()}}))
        else:
            if backend == "torch":
                tensors = {
                    "a.f32": torch.tensor([[1.5, -2.25], [3.0, 0.0]], dtype=torch.float32),
                    "b.f64": torch.tensor([0.001, -7.5], dtype=torch.float64),
                    "c.f16": torch.tensor([1.0, -2.0, 65504.0, 2.0 ** -24], dtype=torch.float16),
                    "d.bf16": torch.tensor([1.0, -3.5, 256.0], dtype=torch.bfloat16),
                    "e.i64": torch.tensor([-2 ** 63, 2 ** 63 - 1, 42], dtype=torch.int64),
                    "f.i32": torch.tensor([-1, 7, 2 ** 31 - 1], dtype=torch.int32),
                    "g.scalar": torch.tensor(3.25, dtype=torch.float32),
                    "h.empty": torch.zeros((0, 3), dtype=torch.float32),
                    "features.1.num_batches_tracked": torch.tensor(17, dtype=torch.int64),
                }
            else:
                tensors = {
                    "a.f32": np.array([[1.5, -2.25], [3.0, 0.0]], dtype=np.float32),
                    "b.f64": np.array([0.001, -7.5], dtype=np.float64),
                    "c.f16": np.array([1.0, -2.0, 65504.0, 2.0 ** -24], dtype=np.float16),
                    "e.i64": np.array([-2 ** 63, 2 ** 63 - 1, 42], dtype=np.int64),
                    "f.i32": np.array([-1, 7, 2 ** 31 - 1], dtype=np.int32),
                    "g.scalar": np.array(3.25, dtype=np.float32),
                    "h.empty": np.zeros((0, 3), dtype=np.float32),
                    "features.1.num_batches_tracked": np.array(17, dtype=np.int64),
                }
            save_file(tensors, path, metadata={"format": "pt", "note": "ünï"})
            print(json.dumps({"backend": backend}))
        """
}

/// A lock-protected slot for data read on another thread.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

@Suite("interop with Python's safetensors", .enabled(if: PythonSafeTensors.backend != nil, PythonSafeTensors.skipReason))
struct PythonInteropTests {
    func runScript(_ mode: String, _ path: String, in scratch: ScratchFolder) throws -> String {
        try scratch.write(Array(PythonSafeTensors.script.utf8), to: "interop.py")
        let result = try PythonSafeTensors.runPython([scratch.path + "/interop.py", mode, path])
        #expect(result.status == 0, "python failed: \(result.stderr)")
        return result.stdout
    }

    @Test("a file written by Python decodes here with the right values")
    func pythonWritesSwiftReads() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let path = scratch.path + "/from-python.safetensors"
        _ = try runScript("write", path, in: scratch)
        let decoded = try SafeTensors.read(path: path)
        #expect(decoded.metadata == ["format": "pt", "note": "ünï"])
        var expected: [String: ([Int], TensorValues)] = [
            "a.f32": ([2, 2], .float32([1.5, -2.25, 3, 0])),
            "b.f64": ([2], .float32([Float(0.001 as Double), -7.5])),
            "c.f16": ([4], .float32([1, -2, 65504, 0x1p-24])),
            "e.i64": ([3], .int64([.min, .max, 42])),
            "f.i32": ([3], .int64([-1, 7, 2_147_483_647])),
            "g.scalar": ([], .float32([3.25])),
            "h.empty": ([0, 3], .float32([])),
            "features.1.num_batches_tracked": ([], .int64([17])),
        ]
        if PythonSafeTensors.backend == "torch" { expected["d.bf16"] = ([3], .float32([1, -3.5, 256])) }
        #expect(Set(decoded.tensors.map(\.name)) == Set(expected.keys))
        for tensor in decoded.tensors {
            #expect(tensor.shape == expected[tensor.name]?.0, "shape of \(tensor.name)")
            #expect(tensor.values == expected[tensor.name]?.1, "values of \(tensor.name)")
        }
    }

    @Test("a file written here loads in Python with the right dtypes, shapes and values")
    func swiftWritesPythonReads() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let tensors = sampleWeights() + [
            NamedTensor(name: "couche.φ", shape: [2], floats: [-0.0, .leastNormalMagnitude / 8]),
            NamedTensor(name: "empty", shape: [0, 4], floats: []),
            NamedTensor(name: "big.ints", shape: [2], integers: [.min, .max]),
        ]
        let path = scratch.path + "/from-swift.safetensors"
        try scratch.write(try SafeTensors.encode(tensors, metadata: ["format": "pt", "run": "spherelab ✓"]), to: "from-swift.safetensors")
        let output = try runScript("read", path, in: scratch)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(json["metadata"] as? [String: String] == ["format": "pt", "run": "spherelab ✓"])
        let loaded = try #require(json["tensors"] as? [String: [String: Any]])
        #expect(Set(loaded.keys) == Set(tensors.map(\.name)))
        for tensor in tensors {
            let entry = try #require(loaded[tensor.name], "\(tensor.name) missing in Python")
            #expect(entry["shape"] as? [Int] == tensor.shape, "shape of \(tensor.name)")
            let texts = try #require(entry["values"] as? [String])
            switch tensor.values {
            case .float32(let values):
                #expect(entry["dtype"] as? String == "F32")
                let parsed = texts.compactMap(Double.init).map(Float.init)
                #expect(parsed.map(\.bitPattern) == values.map(\.bitPattern), "values of \(tensor.name)")
            case .int64(let values):
                #expect(entry["dtype"] as? String == "I64")
                #expect(texts.compactMap { Int64($0) } == values, "values of \(tensor.name)")
            }
        }
    }
}
