import Foundation
import Dispatch
import Engine
import TUI
#if canImport(Glibc)
import Glibc
#endif

/// Runs the interactive workbench: the trainer on its queue, the UI on the calling (main)
/// thread — read telemetry, handle keys, render, flush — about 15 frames a second.
public final class WorkbenchRunner {
    public static let frameMilliseconds: Int32 = 66

    /// The run on screen: a local `TrainingController`, or a remote job (`RemoteRun`).
    private var driver: any RunDriver
    /// The open run's setup and data fingerprint (what its snapshots record beside the session);
    /// nil for a remote job, which writes its own snapshots.
    private var identity: RunIdentity?
    private var state: AppState
    private let sessions: SessionArchive?
    private let terminal = Terminal()
    private var quitting = false
    /// Autosave interval (nil: off) and how many autosaves of this run to keep.
    public var autosaveInterval: Double? = 600
    public var autosaveKeep = 3
    private var lastAutosave = Date()
    /// Saves started and not yet finished (written on the utility queue).
    private let savesInFlight = Locked(0)
    /// A snapshot being opened off the UI thread (see `open`).
    private var pendingOpen: (path: String, result: Locked<Result<OpenedRun, any Error>?>, stopSent: Bool)?
    /// When the last Ctrl-C arrived: a second one within 2 s quits.
    private var lastInterrupt: Date?
    /// The signal that ended the workbench (SIGTERM, SIGHUP), if one did; the command exits
    /// with 128 + it. `emergencyNote` says what happened to unsaved progress.
    public private(set) var exitSignal: Int32?
    public private(set) var emergencyNote: String?
    /// What the last waited-for save wrote, or why it failed.
    private var lastSavedPath: String?
    private var lastSaveError: String?

    /// Takes the run over: its session is handed to a `TrainingController` and from then on
    /// touched only on the trainer's queue.
    public init(run: OpenedRun, sessions: SessionArchive?, glyphs: GlyphSet) {
        driver = TrainingController(session: run.session)
        identity = run.identity
        self.sessions = sessions
        state = AppState(telemetry: driver.telemetry)
        state.glyphs = glyphs
        state.sessionsAvailable = sessions != nil
    }

    /// Drives a run that lives elsewhere (`spherelab attach`): saving asks it to save.
    public init(driver: any RunDriver, glyphs: GlyphSet) {
        self.driver = driver
        identity = nil
        sessions = nil
        state = AppState(telemetry: driver.telemetry)
        state.glyphs = glyphs
        state.sessionsAvailable = driver.writesOwnSnapshots
    }

    /// The latest telemetry of the run on screen (after `run`, its final state).
    public var telemetry: Telemetry { driver.telemetry }

    /// Blocks until the user quits. The terminal is restored on every way out.
    public func run() throws {
        try terminal.start()
        // Ctrl-C, SIGTERM and SIGHUP come to this loop (quit dialog, emergency autosave).
        Terminal.interceptsStopSignals = true
        defer { Terminal.interceptsStopSignals = false; terminal.stop() }
        if terminal.preferredGlyphs == .ascii { state.glyphs = .ascii }
        terminal.setMouseReporting(true)
        driver.start()
        while !quitting {
            if let key = terminal.readKey(timeoutMilliseconds: WorkbenchRunner.frameMilliseconds) {
                if key == .resize { terminal.invalidate() }
                perform(state.update(.key(key)))
                // Drain keys that arrived together (pastes, key repeat) before drawing.
                while !quitting, let more = terminal.readKey(timeoutMilliseconds: 0) {
                    if more == .resize { terminal.invalidate() }
                    perform(state.update(.key(more)))
                }
            }
            handleStopSignal()
            finishOpening()
            if quitting { break }
            _ = state.update(.telemetry(driver.telemetry))
            if let notice = driver.takeNotice() { _ = state.update(.status(notice)) }
            state.saving = savesInFlight.withLock { $0 } > 0
            autosaveIfDue()
            let size = terminal.size
            _ = state.update(.resize(width: size.width, height: size.height))
            terminal.draw(WorkbenchView.render(state, width: size.width, height: size.height))
        }
    }

    /// Every `autosaveInterval` seconds with unsaved progress: a snapshot named
    /// `autosave-<run>-step<N>`, keeping the newest `autosaveKeep` of this run.
    func autosaveIfDue() {
        guard let interval = autosaveInterval, let sessions, Date().timeIntervalSince(lastAutosave) >= interval else { return }
        lastAutosave = Date()
        let t = state.telemetry
        guard t.unsavedSteps > 0, t.state != .diverged else { return }
        let prefix = WorkbenchRunner.autosavePrefix(t.runName)
        let keep = autosaveKeep
        // Named from the step the capture holds (it happens later, on the trainer's queue).
        save(name: "\(prefix)-step\(t.step)", nameForStep: { "\(prefix)-step\($0)" }, wait: false) {
            try sessions.store.rotate(prefix: prefix + "-step", keep: keep)
        }
    }

    /// `autosave-<run>`, within the store's name rule (ASCII letters, digits, . _ -).
    static func autosavePrefix(_ runName: String) -> String {
        "autosave-" + String(runName.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }.prefix(60))
    }

    /// Ctrl-C goes through the same quit dialog as `q` (a second one within 2 s quits);
    /// SIGTERM and SIGHUP save unsaved progress as an emergency autosave, then quit.
    func handleStopSignal() {
        guard let signal = Terminal.takeStopSignal() else { return }
        if signal == SIGINT {
            if let last = lastInterrupt, Date().timeIntervalSince(last) < 2 { quit(); return }
            lastInterrupt = Date()
            state.editText = nil
            if state.overlay != .confirmQuit { state.overlay = .none }
            perform(state.perform(.quit))
            if state.overlay == .confirmQuit { _ = state.update(.status("Ctrl-C again within 2 s quits without saving")) }
            return
        }
        exitSignal = signal
        let t = driver.telemetry
        let what = signal == SIGHUP ? "SIGHUP (terminal closed)" : "SIGTERM"
        if t.unsavedSteps > 0, sessions != nil {
            let name = "\(WorkbenchRunner.autosavePrefix(t.runName))-step\(t.step)"
            if save(name: name, wait: true) {
                emergencyNote = "\(what): \(t.unsavedSteps) unsaved steps written to \(lastSavedPath ?? name)"
            } else {
                emergencyNote = "\(what): the emergency autosave failed (\(lastSaveError ?? "see the event log")); \(t.unsavedSteps) steps are lost"
            }
        } else {
            emergencyNote = "\(what): " + (t.unsavedSteps > 0 ? "\(t.unsavedSteps) unsaved steps are lost: snapshots are unavailable" : "nothing unsaved")
        }
        quit()
    }

    func perform(_ effects: [AppEffect]) {
        var skipOpen = false
        for (index, effect) in effects.enumerated() {
            switch effect {
            case .send(let c):
                if let why = driver.unavailableReason(c) { _ = state.update(.status(why)) } else { driver.send(c) }
            case .setSmoothing, .setTrainModeBN: break   // applied inside AppState
            case .save(let name):
                if index + 1 < effects.count, case .open(let path) = effects[index + 1] {
                    // "Save first?" — yes: the open waits for the save, and a failed save stops it.
                    if !save(name: name, wait: true) {
                        skipOpen = true
                        let reason = "not opening \(path): saving the current run first failed (\(lastSaveError ?? "see the event log")); its steps are still here — free space or fix the sessions folder and try again"
                        driver.send(.log(reason, .error))
                        _ = state.update(.status(reason))
                    }
                } else {
                    save(name: name, wait: false)
                }
            case .saveAndQuit(let name):
                if save(name: name, wait: true) { quit() }
            case .listSnapshots:
                if driver.writesOwnSnapshots {
                    let again = driver.reconnectNow()
                    _ = state.update(.status(again ? "reconnecting…" : "opening snapshots is unavailable while attached: quit, then `spherelab --resume PATH` on the job's snapshot"))
                    continue
                }
                guard let sessions else { continue }
                do {
                    _ = state.update(.snapshots(try sessions.entries()))
                } catch {
                    _ = state.update(.status("cannot list snapshots: \(error)"))
                }
            case .open(let path):
                if skipOpen { skipOpen = false } else { open(path) }
            case .quit: quit()
            }
        }
    }

    /// Copies the state on the trainer's queue (training pauses only for the copy), then
    /// writes on a utility queue so neither the UI nor the trainer waits for the disk.
    @discardableResult
    func save(name: String, nameForStep: (@Sendable (Int) -> String)? = nil, wait: Bool,
              after: (@Sendable () throws -> Void)? = nil) -> Bool {
        if driver.writesOwnSnapshots { driver.requestSave(name: name); return true }
        guard let sessions, let controller = driver as? TrainingController, let identity else { return false }
        let done = DispatchSemaphore(value: 0)
        let outcome = SaveOutcome()
        let inFlight = savesInFlight
        inFlight.withLock { $0 += 1 }
        controller.perform { session in
            let snapshot = sessions.capture(session, identity: identity)
            let name = nameForStep?(snapshot.manifest.step) ?? name
            session.note("saving \(name)…")
            DispatchQueue.global(qos: .utility).async {
                do {
                    let path = try sessions.write(snapshot, name: name)
                    controller.send(.markSaved(path))
                    outcome.set(.success(path))
                    try after?()
                } catch {
                    if outcome.path == nil { outcome.set(.failure(error)) }
                    controller.send(.log("save failed: \(error)", .error))
                }
                inFlight.withLock { $0 -= 1 }
                done.signal()
            }
        }
        guard wait else { return true }
        defer { lastSavedPath = outcome.path; lastSaveError = outcome.error }
        // Quitting: keep drawing while the save completes so the screen shows progress.
        while done.wait(timeout: .now() + .milliseconds(Int(WorkbenchRunner.frameMilliseconds))) == .timedOut {
            _ = state.update(.telemetry(driver.telemetry))
            let size = terminal.size
            terminal.draw(WorkbenchView.render(state, width: size.width, height: size.height))
        }
        if outcome.path == nil { _ = state.update(.status("the save failed: \(outcome.error ?? "see the event log")")) }
        return outcome.path != nil
    }

    /// Opens a snapshot without blocking the UI: the dataset is read and the run rebuilt on
    /// a background queue ("opening…" meanwhile; the current run goes on). When it is ready the
    /// current trainer is stopped, and only once it has stopped does the new one start, so one
    /// trainer owns a model at a time. A failure leaves the current run as it was.
    func open(_ path: String) {
        guard let sessions, !driver.writesOwnSnapshots else { return }
        guard pendingOpen == nil else { _ = state.update(.status("already opening \(pendingOpen!.path)…")); return }
        let result = Locked<Result<OpenedRun, any Error>?>(nil)
        pendingOpen = (path, result, false)
        _ = state.update(.status("opening \(path)…"))
        DispatchQueue.global(qos: .userInitiated).async {
            let r = Result { try sessions.restore(path: path).0 }
            result.withLock { $0 = r }
        }
    }

    /// The second half of `open`, polled every frame.
    func finishOpening() {
        guard let pending = pendingOpen, let result = pending.result.withLock({ $0 }) else { return }
        switch result {
        case .failure(let error):
            pendingOpen = nil
            _ = state.update(.status("cannot open \(pending.path): \(error)"))
        case .success(let run):
            if !pending.stopSent {
                driver.send(.quit)
                pendingOpen?.stopSent = true
            }
            guard (driver as? TrainingController)?.hasStopped ?? true else {
                _ = state.update(.status("opening \(pending.path)… (waiting for the current step to finish)"))
                return
            }
            pendingOpen = nil
            driver = TrainingController(session: run.session)
            identity = run.identity
            let glyphs = state.glyphs
            state = AppState(telemetry: driver.telemetry)
            state.glyphs = glyphs
            state.sessionsAvailable = true
            driver.start()
        }
    }

    func quit() {
        driver.stop()
        quitting = true
    }
}

/// The save's result, set on the writer's queue and read on the UI thread.
private final class SaveOutcome: Sendable {
    private let result = Locked<Result<String, any Error>?>(nil)
    func set(_ r: Result<String, any Error>) { result.withLock { $0 = r } }
    /// The snapshot's path once written.
    var path: String? { result.withLock { if case .success(let p) = $0 { return p } else { return nil } } }
    var error: String? { result.withLock { if case .failure(let e) = $0 { return "\(e)" } else { return nil } } }
}
