import ArgumentParser

@main
struct HTBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "htb",
        abstract: "Hepatic tumour burden (HTB) from CT: liver and lesion volumes, HTB %, category.",
        version: "0.1.0",
        subcommands: [InfoCommand.self, AnalyzeCommand.self, ConvertCommand.self, SynthCommand.self, RulesCommand.self, BatchCommand.self, MergeCommand.self, QACommand.self]
    )
}
