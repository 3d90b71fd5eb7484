import Foundation
import Dispatch
import Engine
import TUI

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
        defer { terminal.stop() }
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
        let prefix = "autosave-" + t.runName.filter { $0.isLetter || $0.isNumber || "._-".contains($0) }
        let keep = autosaveKeep
        // Named from the step the capture holds (it happens later, on the trainer's queue).
        save(name: "\(prefix)-step\(t.step)", nameForStep: { "\(prefix)-step\($0)" }, wait: false) {
            try sessions.store.rotate(prefix: prefix + "-step", keep: keep)
        }
    }

    func perform(_ effects: [AppEffect]) {
        for effect in effects {
            switch effect {
            case .send(let c):
                if let why = driver.unavailableReason(c) { _ = state.update(.status(why)) } else { driver.send(c) }
            case .setSmoothing, .setTrainModeBN: break   // applied inside AppState
            case .save(let name): save(name: name, wait: false)
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
            case .open(let path): open(path)
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
                    try after?()
                    outcome.set(true)
                } catch {
                    controller.send(.log("save failed: \(error)", .error))
                }
                inFlight.withLock { $0 -= 1 }
                done.signal()
            }
        }
        guard wait else { return true }
        // Quitting: keep drawing while the save completes so the screen shows progress.
        while done.wait(timeout: .now() + .milliseconds(Int(WorkbenchRunner.frameMilliseconds))) == .timedOut {
            _ = state.update(.telemetry(driver.telemetry))
            let size = terminal.size
            terminal.draw(WorkbenchView.render(state, width: size.width, height: size.height))
        }
        if !outcome.value { _ = state.update(.status("the save failed (see the event log); not quitting")) }
        return outcome.value
    }

    func open(_ path: String) {
        guard let sessions, !driver.writesOwnSnapshots else { return }
        do {
            let (run, _) = try sessions.restore(path: path)
            driver.stop()
            driver = TrainingController(session: run.session)
            identity = run.identity
            let glyphs = state.glyphs
            state = AppState(telemetry: driver.telemetry)
            state.glyphs = glyphs
            state.sessionsAvailable = true
            driver.start()
        } catch {
            _ = state.update(.status("cannot open \(path): \(error)"))
        }
    }

    func quit() {
        driver.stop()
        quitting = true
    }
}

/// The save's result, set on the writer's queue and read on the UI thread.
private final class SaveOutcome: Sendable {
    private let flag = Locked(false)
    func set(_ v: Bool) { flag.withLock { $0 = v } }
    var value: Bool { flag.withLock { $0 } }
}
