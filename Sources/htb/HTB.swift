import ArgumentParser

@main
struct HTBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "htb",
        abstract: "Hepatic tumour burden (HTB) from CT: liver and lesion volumes, HTB %, category.",
        discussion: Help.discussion(
            "Each subcommand's --help gives its options, examples and exit codes; README.md the whole picture.",
            examples: [
                "htb info SampleStudies",
                "htb analyze \(Help.sample) --out out --single-phase",
                "htb analyze \(Help.sample) --out out --clinical docs/examples/facts.json --single-phase",
            ],
            exits: HTBExit.allCases),
        version: "0.1.0",
        subcommands: [
            InfoCommand.self, AnalyzeCommand.self, ConvertCommand.self, SynthCommand.self, RulesCommand.self,
            BatchCommand.self, MergeCommand.self, QACommand.self, CompareCommand.self, ServeCommand.self,
        ]
    )
}
