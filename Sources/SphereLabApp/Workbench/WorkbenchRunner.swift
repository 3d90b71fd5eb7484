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
    /// A snapshot or a saved race being opened off the UI thread (see `open`).
    private var pendingOpen: (path: String, result: Locked<Result<Opened, any Error>?>, stopSent: Bool)?
    private enum Opened { case single(OpenedRun), race(Race) }
    /// The race on screen, when the driver is one (`driver` is then this controller).
    private var raceController: RaceController? { driver as? RaceController }
    /// When the last Ctrl-C arrived: a second one within 2 s quits.
    private var lastInterrupt: Date?
    /// The signal that ended the workbench (SIGTERM, SIGHUP), if one did; the command exits
    /// with 128 + it. `emergencyNote` says what happened to unsaved progress.
    public private(set) var exitSignal: Int32?
    public private(set) var emergencyNote: String?
    /// Where save-and-quit wrote the run (or the race), said after the terminal is restored.
    public private(set) var savedOnQuit: String?
    /// What the last waited-for save wrote, or why it failed.
    private var lastSavedPath: String?
    /// What a race save just written holds beyond steps (thresholds, runs), for the screen's
    /// `RaceBoard.saved`; set on the writing queue, taken on the UI thread.
    private let savedRacePart = Locked<RaceBoard.SavedPart?>(nil)
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

    /// Takes a race over (race mode): its contenders are handed to a `RaceController`; `base`
    /// is what contenders added from the workbench start from (the shared options).
    public init(race: Race, base: RunRequest?, sessions: SessionArchive?, glyphs: GlyphSet) {
        let controller = RaceController(race: race)
        driver = controller
        identity = nil
        self.sessions = sessions
        state = AppState(telemetry: controller.telemetry)
        state.race = WorkbenchRunner.board(for: race, base: base, datasetsDirectory: sessions?.datasetsDirectory ?? "Datasets")
        _ = state.update(.race(controller.runs))
        state.glyphs = glyphs
        state.sessionsAvailable = sessions != nil
    }

    /// The workbench's picture of a race about to be handed to its controller: new contenders
    /// start from `base` (a reopened race: its first run's setup), the scoreboard from the
    /// thresholds it was saved with.
    static func board(for race: Race, base: RunRequest?, datasetsDirectory: String) -> RaceBoard {
        var board = RaceBoard(base: base ?? WorkbenchRunner.base(of: race, datasetsDirectory: datasetsDirectory))
        if let t = race.scoreboardThresholds { board.thresholds = t }
        board.saved.thresholds = board.thresholds
        return board
    }

    /// The request a reopened race's new contenders start from: its first run's setup.
    static func base(of race: Race, datasetsDirectory: String) -> RunRequest {
        guard let first = race.contenders.first else { return RunRequest() }
        return RunRequest(setup: first.run.identity.setup, hyper: first.session.trainer.hyper, datasetsDirectory: datasetsDirectory)
    }

    /// Every race run's latest telemetry (nil: one run on screen).
    public var raceRuns: [RunTelemetry]? { raceController?.runs }

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
            refreshTelemetry()
            if let notice = driver.takeNotice() { _ = state.update(.status(notice)) }
            state.saving = savesInFlight.withLock { $0 } > 0
            autosaveIfDue()
            let size = terminal.size
            _ = state.update(.resize(width: size.width, height: size.height))
            terminal.draw(WorkbenchView.render(state, width: size.width, height: size.height))
        }
    }

    /// Reads the latest telemetry (every run's in a race) into the state.
    func refreshTelemetry() {
        if let race = raceController { _ = state.update(.race(race.runs)) } else { _ = state.update(.telemetry(driver.telemetry)) }
        if let part = savedRacePart.withLock({ p in defer { p = nil }; return p }) { state.race?.saved = part }
    }

    /// Every `autosaveInterval` seconds with unsaved progress: a snapshot named
    /// `autosave-<run>-step<N>`, keeping the newest `autosaveKeep` of this run.
    func autosaveIfDue() {
        guard let interval = autosaveInterval, let sessions, Date().timeIntervalSince(lastAutosave) >= interval else { return }
        lastAutosave = Date()
        let t = state.telemetry
        guard state.hasUnsavedChanges, state.race != nil || t.state != .diverged else { return }
        let prefix = WorkbenchRunner.autosavePrefix(state.race == nil ? t.runName : "race")
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
        refreshTelemetry()
        let t = state.telemetry
        let unsaved = state.unsavedSteps
        // Steps first (the usual case); a race changed otherwise names what changed.
        let what = signal == SIGHUP ? "SIGHUP (terminal closed)" : "SIGTERM"
        let changes = unsaved > 0 ? "\(unsaved) unsaved steps" : state.unsavedParts.joined(separator: " and ")
        if state.hasUnsavedChanges, sessions != nil {
            let name = "\(WorkbenchRunner.autosavePrefix(state.race == nil ? t.runName : "race"))-step\(t.step)"
            if save(name: name, wait: true) {
                emergencyNote = "\(what): \(changes) written to \(lastSavedPath ?? name)"
            } else {
                emergencyNote = "\(what): the emergency autosave failed (\(lastSaveError ?? "see the event log")); \(changes) are lost"
            }
        } else {
            emergencyNote = "\(what): " + (state.hasUnsavedChanges ? "\(changes) are lost: snapshots are unavailable" : "nothing unsaved")
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
                // Hold the runs first: the trainer applies the pause before the capture, so
                // the snapshot holds the step the run stops at (no step trained after it is
                // lost) and is named from that step, not from the screen's older telemetry.
                let base = state.snapshotNameBase
                if !driver.writesOwnSnapshots { driver.send(.pause) }
                if save(name: name, nameForStep: { @Sendable step in AppState.snapshotName(base: base, step: step) }, wait: true) {
                    // A remote job writes its own snapshot: its path is the job's to say.
                    savedOnQuit = driver.writesOwnSnapshots ? nil : lastSavedPath
                    quit()
                }
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
            case .sendTo(let c, let names):
                if let race = raceController { race.send(c, to: names) } else { driver.send(c) }
            case .addRun(let spec): addRun(spec)
            case .branchRun(let of, let spec): branchRun(of: of, spec: spec)
            case .removeRun(let name):
                raceController?.perform(failure: "cannot remove \(name)") { race in
                    guard let i = race.contenders.firstIndex(where: { $0.name == name }) else { return }
                    race.remove(at: i)
                }
            case .listGhosts:
                guard let sessions else { continue }
                do { _ = state.update(.ghostChoices(try sessions.entries())) } catch {
                    _ = state.update(.status("cannot list snapshots: \(error)"))
                }
            case .loadGhost(let path):
                do { _ = state.update(.ghosts(try Ghost.load(path: path))) } catch {
                    _ = state.update(.status("cannot overlay \(path): \(error)"))
                }
            }
        }
    }

    /// A contender from the start: the spec (checked by the dialog) applied to the race's
    /// base; it joins running if the others run, towards the same end.
    func addRun(_ spec: String) {
        guard let race = raceController, let base = state.race?.base else { return }
        let number = (state.race?.runs.count ?? 0) + 1
        race.perform(failure: "cannot add '\(spec)'") { race in
            let (name, request) = try RaceSpec.parse(spec, base: base)
            var unique = name ?? "run\(number)"
            var n = number
            while name == nil, race.contenders.contains(where: { $0.name == unique }) { n += 1; unique = "run\(n)" }
            let reference = race.contenders.first?.session
            let c = try race.add(name: unique, request: request)
            c.session.note("added to the race from the start: \(spec.isEmpty ? "the shared settings" : spec)")
            if let reference, reference.state == .running {
                if let end = reference.totalSteps { try c.session.run(steps: max(1, end)) } else { c.session.apply(.resume) }
            } else {
                c.session.apply(.pause)
            }
        }
        _ = state.update(.status("adding a contender (\(spec.isEmpty ? "shared settings" : spec))…"))
    }

    /// A branch of the named run at its current step with the spec's changes.
    func branchRun(of source: String, spec: String) {
        guard let race = raceController, let base = state.race?.base else { return }
        race.perform(failure: "cannot branch \(source)") { race in
            guard let i = race.contenders.firstIndex(where: { $0.name == source }) else {
                throw EngineError("\(source) is no longer in the race")
            }
            let s = race.contenders[i].session
            var b = base
            b.hyper = s.trainer.hyper
            let (name, request) = spec.isEmpty ? (nil, b) : try RaceSpec.parse(spec, base: b)
            var unique = name ?? "\(source)-b\(s.step)"
            var n = 2
            while name == nil, race.contenders.contains(where: { $0.name == unique }) { unique = "\(source)-b\(s.step)-\(n)"; n += 1 }
            let hyper = request.hyper
            let branch = try race.branch(of: i, name: unique) { h in h = hyper }
            if !spec.isEmpty { branch.session.note("branch of \(source) at step \(s.step) with \(spec)") }
        }
        _ = state.update(.status("branching \(source)…"))
    }

    /// Copies the state on the trainer's queue (training pauses only for the copy), then
    /// writes on a utility queue so neither the UI nor the trainer waits for the disk.
    @discardableResult
    func save(name: String, nameForStep: (@Sendable (Int) -> String)? = nil, wait: Bool,
              after: (@Sendable () throws -> Void)? = nil) -> Bool {
        if driver.writesOwnSnapshots { driver.requestSave(name: name); return true }
        guard let sessions else { return false }
        let done = DispatchSemaphore(value: 0)
        let outcome = SaveOutcome()
        let inFlight = savesInFlight
        if let race = raceController {
            // The whole race as one folder: copied between units of work, written elsewhere,
            // with the scoreboard's thresholds (the user's, from the screen).
            inFlight.withLock { $0 += 1 }
            let thresholds = state.race?.thresholds
            let savedPart = savedRacePart
            race.perform { r in
                let capture = sessions.captureRace(r, thresholds: thresholds)
                let part = RaceBoard.SavedPart(thresholds: thresholds ?? RaceBoard.defaultThresholds, runs: capture.entries.map(\.name))
                let name = nameForStep?(capture.entries.map(\.step).max() ?? 0) ?? name
                for c in r.contenders { c.session.note("saving race \(name)…") }
                DispatchQueue.global(qos: .utility).async {
                    do {
                        let path = try sessions.write(capture, name: name)
                        race.send(.markSaved(path), to: nil)
                        savedPart.withLock { $0 = part }
                        outcome.set(.success(path))
                        try after?()
                    } catch {
                        if outcome.path == nil { outcome.set(.failure(error)) }
                        race.send(.log("save failed: \(error)", .error), to: nil)
                    }
                    inFlight.withLock { $0 -= 1 }
                    done.signal()
                }
            }
            return wait ? waitForSave(done, outcome) : true
        }
        guard let controller = driver as? TrainingController, let identity else { return false }
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
        return wait ? waitForSave(done, outcome) : true
    }

    /// Waits for a save started by `save`, drawing meanwhile; true when it was written.
    private func waitForSave(_ done: DispatchSemaphore, _ outcome: SaveOutcome) -> Bool {
        defer { lastSavedPath = outcome.path; lastSaveError = outcome.error }
        // Quitting: keep drawing while the save completes so the screen shows progress.
        while done.wait(timeout: .now() + .milliseconds(Int(WorkbenchRunner.frameMilliseconds))) == .timedOut {
            refreshTelemetry()
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
        let result = Locked<Result<Opened, any Error>?>(nil)
        pendingOpen = (path, result, false)
        _ = state.update(.status("opening \(path)…"))
        DispatchQueue.global(qos: .userInitiated).async {
            let r = Result { () throws -> Opened in
                SessionArchive.isRace(path: path) ? .race(try sessions.restoreRace(path: path)) : .single(try sessions.restore(path: path).0)
            }
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
        case .success(let opened):
            if !pending.stopSent {
                driver.send(.quit)
                pendingOpen?.stopSent = true
            }
            guard (driver as? TrainingController)?.hasStopped ?? raceController?.hasStopped ?? true else {
                _ = state.update(.status("opening \(pending.path)… (waiting for the current step to finish)"))
                return
            }
            pendingOpen = nil
            let glyphs = state.glyphs, ghosts = state.ghosts
            switch opened {
            case .single(let run):
                driver = TrainingController(session: run.session)
                identity = run.identity
                state = AppState(telemetry: driver.telemetry)
            case .race(let race):
                let board = WorkbenchRunner.board(for: race, base: nil, datasetsDirectory: sessions?.datasetsDirectory ?? "Datasets")
                let controller = RaceController(race: race)
                driver = controller
                identity = nil
                state = AppState(telemetry: controller.telemetry)
                state.race = board
                _ = state.update(.race(controller.runs))
            }
            state.glyphs = glyphs
            state.ghosts = ghosts
            state.sessionsAvailable = true
            driver.start()
        }
    }

    /// What the command prints after save-and-quit: where the snapshot (or race) went and how to reopen it.
    public static func savedNote(path: String, race: Bool) -> String {
        "saved \(race ? "the race" : "the run") to \(path); reopen it with: spherelab --resume \(ShellWords.quote(path))"
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
