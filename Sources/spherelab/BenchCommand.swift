import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure training and inference images/second (batch 128, synthetic data).")
    @Option(help: "fmnist-w0.25, fmnist-w0.5, cifar-w1 or all.") var config = "fmnist-w0.25"
    @Option(help: "conv, cosine, linear, sigmoid, lr-sigmoid or all.") var variant = "all"
    @Option(help: "Timed steps (after 3 warm-up steps).") var steps = 10
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Flag(help: "Skip the inference measurement.") var noInference = false
    @Flag(help: "Also time whole evaluations (10 batches of test images through the path train evaluates with).") var evaluation = false
    @Flag(name: .customLong("with-ui"), help: "Measure what drawing the workbench (off-screen, 15 fps) costs training.") var withUI = false
    @Flag(help: "Print one JSON object per line.") var json = false
    @Option(name: .customLong("long-run"), help: "Instead: train a tiny model this many steps and report memory, publish time, session.json size and exact resume.") var longRun: Int?
    @Option(help: "Instead: race this many runs (conv, cosine, sigmoid, linear, …) against the same runs one after another, and the race's peak memory against one run's (2…8).") var race: Int?
    @Option(name: .customLong("race-memory-child"), help: .hidden) var raceMemoryChild: String?
    @Flag(help: "Instead: OpenBLAS sgemm GFLOP/s as the engine calls it (its parallel wrapper, the same threads as training), square matrices.") var sgemm = false
    @Option(name: .customLong("sgemm-size"), help: "With --sgemm: the matrices' side n (\(Settings.sgemmSize.rangeText); default 2048).") var sgemmSize: Int?

    func validate() throws {
        if let n = longRun { guard n >= 1000, n <= 10_000_000 else { throw ValidationError("--long-run must be in 1000…10000000 steps") } }
        guard (1...10_000).contains(steps) else { throw ValidationError("--steps must be in 1…10000") }
        if let n = race { guard (2...Race.maximumContenders).contains(n) else { throw ValidationError("--race must be in 2…\(Race.maximumContenders) runs") } }
        do { try Settings.batchSize.check(batch) } catch let e as EngineError { throw ValidationError(e.message) }
        if let n = sgemmSize {
            guard sgemm else { throw ValidationError("--sgemm-size \(n) sets the matrices of --sgemm: add --sgemm, or drop --sgemm-size") }
            do { try Settings.sgemmSize.check(n) } catch let e as EngineError {
                throw ValidationError("--sgemm-size: \(e.message) (the side n of the n×n matrices)")
            }
        }
        if sgemm {
            let others = [(longRun != nil, "--long-run"), (race != nil, "--race"), (withUI, "--with-ui"), (evaluation, "--evaluation")]
            if let clash = others.first(where: { $0.0 }) {
                throw ValidationError("--sgemm measures sgemm alone and cannot be combined with \(clash.1): run them as two commands")
            }
        }
    }

    func run() throws {
        if let n = longRun {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spherelab-long-run-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            do {
                let r = try LongRunBenchmark(steps: n).run(sessionsFolder: folder)
                if json {
                    print(JSONLine.object([("steps", .int(r.steps)), ("steps_per_sec", .double(r.stepsPerSecond)),
                                           ("rss_mb_after_1000", .double(r.residentMBAfter1000)), ("rss_mb_end", .double(r.residentMBAtEnd)),
                                           ("publish_us_first_tenth", .double(r.publishMicroseconds.first ?? 0)),
                                           ("publish_us_last_tenth", .double(r.publishMicroseconds.last ?? 0)),
                                           ("session_json_bytes", .int(r.sessionJSONBytes)), ("resumes_exactly", .bool(r.resumesExactly))]))
                } else {
                    print(String(format: "%d steps at %.0f steps/s; resident memory %.1f MB after 1000 steps, %.1f MB at the end (+%.1f MB)",
                                 r.steps, r.stepsPerSecond, r.residentMBAfter1000, r.residentMBAtEnd, r.residentMBAtEnd - r.residentMBAfter1000))
                    print("publish time per tenth of the run (µs): " + r.publishMicroseconds.map { String(format: "%.1f", $0) }.joined(separator: " "))
                    print("session.json \(r.sessionJSONBytes) bytes; resumes exactly: \(r.resumesExactly ? "yes" : "NO")")
                }
            } catch { throw failure("\(error)") }
            return
        }
        if race != nil || raceMemoryChild != nil {
            try runRace()
            return
        }
        try applyThreads()
        if sgemm {
            try runSgemm()
            return
        }
        let configs: [Benchmark.Configuration]
        let variants: [ConvVariant]
        do {
            configs = try Benchmark.Configuration.named(config)
            variants = variant == "all" ? ConvVariant.cycle : [try ConvVariant(parsing: variant)]
        } catch let e as EngineError { throw ValidationError(e.message) }
        var bench = Benchmark()
        bench.steps = steps
        bench.batch = batch
        if withUI {
            var ui = UIOverheadBenchmark()
            ui.steps = steps
            ui.benchmark = bench
            for c in configs {
                for v in variants {
                    let r = try ui.run(c, variant: v)
                    if json {
                        print(JSONLine.object([("config", .string(c.name)), ("variant", .string(v.name)), ("mode", .string("train-with-ui")),
                                               ("images_per_sec", .double(r.withUIImagesPerSecond)), ("images_per_sec_without_ui", .double(r.plainImagesPerSecond)),
                                               ("ui_overhead_percent", .double(r.overheadPercent)), ("frames", .int(r.framesDrawn)),
                                               ("frame_ms", .double(r.meanFrameMilliseconds))]))
                    } else {
                        print(String(format: "%@ %@: %.1f img/s without UI, %.1f with the UI drawing (%d frames, %.2f ms each): overhead %.1f%%",
                                     c.name as NSString, v.name as NSString, r.plainImagesPerSecond, r.withUIImagesPerSecond, r.framesDrawn,
                                     r.meanFrameMilliseconds, r.overheadPercent))
                    }
                }
            }
            return
        }
        for c in configs {
            for v in variants {
                var results = [try bench.measureTraining(c, variant: v)]
                if !noInference { results.append(try bench.measureInference(c, variant: v)) }
                if evaluation { results.append(try bench.measureEvaluation(c, variant: v)) }
                for r in results {
                    if json {
                        print(JSONLine.object([("config", .string(r.configuration)), ("variant", .string(r.variant)), ("mode", .string(r.mode)),
                                               ("images_per_sec", .double(r.imagesPerSecond)), ("median_step_ms", .double(1000 * r.medianStepSeconds)),
                                               ("batch", .int(batch)), ("threads", .int(BLASThreads.count)),
                                               ("conv_gflop_per_image", .double(r.convGflopPerImage)), ("conv_gflops", .double(r.convGflops))]))
                    } else {
                        let label = r.configuration.padding(toLength: 14, withPad: " ", startingAt: 0)
                            + r.variant.padding(toLength: 12, withPad: " ", startingAt: 0) + r.mode.padding(toLength: 10, withPad: " ", startingAt: 0)
                        print(label + String(format: "%8.1f img/s  (median %.1f ms per batch of %d)  conv %.4g GFLOP/img, %.1f GFLOP/s",
                                             r.imagesPerSecond, 1000 * r.medianStepSeconds, batch, r.convGflopPerImage, r.convGflops))
                    }
                }
            }
        }
    }

    /// `--threads`, checked and set before anything runs (training, sgemm and races alike).
    private func applyThreads() throws {
        guard let t = threads else { return }
        do { try Settings.threads.check(t) } catch let e as EngineError { throw ValidationError(e.message) }
        BLASThreads.set(t)
    }

    /// `--sgemm`: the rate convolution work is held against (see `SgemmRate`).
    private func runSgemm() throws {
        let r: SgemmRate.Result
        do { r = try SgemmRate(size: sgemmSize ?? 2048).measure() } catch let e as EngineError { throw ValidationError(e.message) }
        if json {
            print(JSONLine.object([("mode", .string("sgemm")), ("size", .int(r.size)), ("threads", .int(r.threads)),
                                   ("sgemm_gflops", .double(r.gflops)), ("sgemm_gflops_best", .double(r.bestGflops)),
                                   ("openblas_kernels", .string(OpenBLASKernels.name)),
                                   ("median_call_ms", .double(1000 * r.medianSeconds)),
                                   ("warmup_calls", .int(r.warmupCalls)), ("timed_calls", .int(r.timedCalls))]))
        } else {
            print(String(format: "sgemm n=%d, %d thread%@ (the engine's parallel wrapper): %.1f GFLOP/s (median of %d calls after %d warm-up; best %.1f); OpenBLAS kernels %@",
                         r.size, r.threads, (r.threads == 1 ? "" : "s") as NSString, r.gflops, r.timedCalls, r.warmupCalls, r.bestGflops,
                         OpenBLASKernels.name as NSString))
        }
    }

    /// `--race N`: throughput of a race against the same runs one after another (in this
    /// process, alternating), then peak memory of an N-run race against one run, each in a
    /// process of its own (this binary with the hidden `--race-memory-child`).
    private func runRace() throws {
        var rb = RaceBenchmark()
        rb.benchmark.batch = batch
        do { rb.configuration = try Benchmark.Configuration.named(config == "all" ? "fmnist-w0.25" : config)[0] } catch let e as EngineError { throw ValidationError(e.message) }
        try applyThreads()
        let memorySteps = 10, testImages = 1000
        if let list = raceMemoryChild {
            do { rb.variants = try list.split(separator: ",").map { try ConvVariant(parsing: String($0)) } } catch let e as EngineError { throw ValidationError(e.message) }
            print(try rb.peakResidentKilobytes(steps: memorySteps, testImages: testImages))
            return
        }
        let n = race ?? 4
        rb.variants = (0..<n).map { RaceBenchmark.standardVariants[$0 % RaceBenchmark.standardVariants.count] }
        rb.steps = steps
        let names = rb.variants.map(\.name).joined(separator: ",")
        let t: RaceBenchmark.Throughput
        do { t = try rb.throughput() } catch { throw failure("\(error)") }
        // One run: the variant that needs most alone (a SphereConv keeps cos θ for backward,
        // plain convolution does not), so the ratio is the race's cost over its largest run.
        let alone = try rb.variants.map { try childPeak(variants: [$0]) }
        let one = alone.max() ?? 0, all = try childPeak(variants: rb.variants)
        let ratio = Double(all) / Double(max(1, one))
        if json {
            print(JSONLine.object([("config", .string(rb.configuration.name)), ("runs", .string(names)), ("batch", .int(batch)),
                                   ("steps_per_round", .int(steps)), ("rounds", .int(rb.rounds)),
                                   ("race_images_per_sec", .double(Benchmark.median(t.race))),
                                   ("sequential_images_per_sec", .double(Benchmark.median(t.sequential))),
                                   ("race_overhead_percent", .double(t.overheadPercent)),
                                   ("peak_rss_kb_one_run", .int(one)), ("peak_rss_kb_each_alone", .string(alone.map(String.init).joined(separator: ","))),
                                   ("peak_rss_kb_race", .int(all)), ("memory_ratio", .double(ratio))]))
        } else {
            let rates = { (v: [Double]) in v.map { String(format: "%.1f", $0) }.joined(separator: " / ") }
            print("\(rb.configuration.name), batch \(batch), runs \(names): \(rb.rounds) rounds of \(steps) steps per run, alternating")
            print("  race            \(rates(t.race)) img/s")
            print("  one after other \(rates(t.sequential)) img/s")
            print(String(format: "  race overhead %.1f%% (medians)", t.overheadPercent))
            print("  peak RSS (\(memorySteps) steps each, evaluation of \(testImages) images, a process each): each run alone "
                  + zip(rb.variants, alone).map { "\($0.name) " + String(format: "%.0f MB", Double($1) / 1024) }.joined(separator: ", "))
            print(String(format: "  %d-run race %.0f MB: %.2f× the largest run alone", n, Double(all) / 1024, ratio))
        }
    }

    /// Peak resident kB of a fresh process training one run per variant, sharing a workspace.
    private func childPeak(variants: [ConvVariant]) throws -> Int {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = ["bench", "--config", config == "all" ? "fmnist-w0.25" : config, "--batch", "\(batch)",
                       "--race-memory-child", variants.map(\.description).joined(separator: ",")] + (threads.map { ["--threads", "\($0)"] } ?? [])
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0, let kb = Int(text) else {
            throw failure("the memory measurement of \(variants.count) run(s) failed (status \(p.terminationStatus)): \(text)")
        }
        return kb
    }
}
