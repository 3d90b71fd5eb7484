import Engine

/// What the workbench drives: a run that publishes `Telemetry` and takes `TrainerCommand`s.
/// A local `TrainingController` (the run trains in this process) and a `RemoteRun` (a PyTorch
/// job reached over its channel) both are one.
public protocol RunDriver: AnyObject, Sendable {
    /// The latest picture of the run (cheap to copy).
    var telemetry: Telemetry { get }
    func send(_ command: TrainerCommand)
    func start()
    /// Ends the driving: a local run's trainer stops; a remote job goes on, only the
    /// connection closes.
    func stop()
    /// Why `command` cannot be honoured by this run (shown on the status line instead of
    /// sending it), or nil.
    func unavailableReason(_ command: TrainerCommand) -> String?
    /// A run that writes its own snapshots (a remote job) saves through `requestSave`; the
    /// workbench captures and writes the others itself.
    var writesOwnSnapshots: Bool { get }
    func requestSave(name: String)
    /// A line for the status bar that arrived since the last call (connection news, refused
    /// commands), or nil.
    func takeNotice() -> String?
    /// Asks a disconnected remote run to reconnect now; false when there is nothing to reconnect.
    func reconnectNow() -> Bool
}

extension TrainingController: RunDriver {
    public func stop() {
        send(.quit)
        waitUntilStopped(timeoutSeconds: 120)
    }
    public func unavailableReason(_ command: TrainerCommand) -> String? { nil }
    public var writesOwnSnapshots: Bool { false }
    public func requestSave(name: String) {}
    public func takeNotice() -> String? { nil }
    public func reconnectNow() -> Bool { false }
}
