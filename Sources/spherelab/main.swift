import ArgumentParser

/// `spherelab`: each command's options live in its own file and call the app layer
/// (SphereLabApp); this file only names the commands.
struct SphereLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spherelab",
        abstract: "Train hyperspherical convolutional networks (SphereNet) on the CPU and watch them learn.",
        subcommands: [Workbench.self, Train.self, RaceCommand.self, Eval.self, Bench.self, Sessions.self, Export.self, Attach.self,
                      Experiment.self, Report.self],
        defaultSubcommand: Workbench.self)
}

SphereLabCommand.main()
