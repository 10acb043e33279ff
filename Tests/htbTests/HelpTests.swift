import Foundation
import Testing

/// Help that stands alone, and a README whose commands run as written: every subcommand's
/// `--help` gives examples and exit codes, and the examples run; the README's fenced `htb`
/// commands run on SampleStudies, its `make` targets exist, and it stays under 20 KB.
@Suite("Help and README commands")
struct HelpTests {
    static let subcommands: [[String]] = [
        [], ["info"], ["analyze"], ["convert"], ["synth"], ["rules"], ["rules", "list"], ["rules", "explain"],
        ["rules", "evaluate"], ["rules", "facts"], ["batch"], ["merge"], ["qa"],
    ]

    /// The README's exit-code table: code -> meaning.
    static func readmeExitCodes() throws -> [Int32: String] {
        let readme = try String(contentsOfFile: Paths.packageRoot + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "## Exit codes") else { return [:] }
        let section = String(readme[start.upperBound...]).components(separatedBy: "\n## ")[0]
        var out: [Int32: String] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 2, let code = Int32(cells[0]) { out[code] = cells[1] }
        }
        return out
    }

    /// The commands of a help text's EXAMPLES section, continuation lines joined.
    static func examples(in help: String) -> [String] {
        guard let start = help.range(of: "EXAMPLES:\n") else { return [] }
        var out: [String] = [], pending = ""
        for line in help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { break }
            if t.hasSuffix("\\") {
                pending += String(t.dropLast())
            } else {
                out.append(pending + t)
                pending = ""
            }
        }
        return out
    }

    /// Runs a shell command line as a user would from the repository's root, in a scratch folder
    /// that sees the repository's SampleStudies, docs and Sources, with htb on the PATH.
    static func runAsUser(_ command: String, in dir: String) throws -> RunResult {
        for name in ["SampleStudies", "docs", "Sources"] where !FileManager.default.fileExists(atPath: dir + "/" + name)
        {
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/" + name, withDestinationPath: Paths.packageRoot + "/" + name)
        }
        var env = ProcessInfo.processInfo.environment
        env["PATH"] =
            URL(fileURLWithPath: Paths.htb).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        return try runProcess("/bin/sh", ["-c", command], in: dir, environment: env)
    }

    @Test("every subcommand's --help gives examples that run as written and exit codes the README's table defines")
    func helpStandsAlone() throws {
        let codes = try Self.readmeExitCodes()
        #expect(codes.count >= 14, "\(codes)")
        let dir = Paths.temporaryDirectory()
        var ran = 0
        for path in Self.subcommands {
            let r = try runHTB(path + ["--help"])
            let name = (["htb"] + path).joined(separator: " ")
            #expect(r.status == 0, "\(name) --help: \(r.stderr)")
            #expect(r.stdout.contains("EXIT CODES:"), "\(name) --help has no exit codes")
            if let start = r.stdout.range(of: "EXIT CODES:\n") {
                for line in r.stdout[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
                    guard let code = Int32(line.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
                    else { break }
                    #expect(
                        codes[code] != nil,
                        "\(name) --help lists exit code \(code), which the README's table does not define")
                }
            }
            let examples = Self.examples(in: r.stdout)
            #expect(!examples.isEmpty, "\(name) --help has no examples")
            for e in examples {
                #expect(e.hasPrefix("htb "), "\(name): example \(e)")
                let run = try Self.runAsUser(e, in: dir)
                #expect(run.status == 0, "\(name): example `\(e)` exited \(run.status): \(run.stderr.suffix(400))")
                ran += 1
            }
        }
        print("help examples run: \(ran)")
    }

    @Test(
        "README: its fenced htb commands run on SampleStudies, its make targets exist, its exit codes are htb's, and it stays under 20 KB"
    )
    func readmeCommandsRun() throws {
        let readme = try String(contentsOfFile: Paths.packageRoot + "/README.md", encoding: .utf8)
        #expect(readme.utf8.count <= 20_000, "README.md is \(readme.utf8.count) bytes")
        var inFence = false, commands: [String] = []
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inFence.toggle()
                continue
            }
            guard inFence else { continue }
            let command =
                line.split(separator: "#", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if command.hasPrefix("htb ") || command.hasPrefix("make ") || command == "make" { commands.append(command) }
        }
        let makefile = try String(contentsOfFile: Paths.packageRoot + "/Makefile", encoding: .utf8)
        let dir = Paths.temporaryDirectory()
        var ran = 0
        for c in commands {
            if c.hasPrefix("make") {
                // Setting up and building is not cheap: the target must exist; CI runs make test itself.
                let target = c.split(separator: " ").dropFirst().first { !$0.contains("=") }.map(String.init) ?? "all"
                #expect(
                    makefile.contains("\n\(target):"), "README runs `\(c)`, but the Makefile has no target \(target)")
                continue
            }
            let r = try Self.runAsUser(c, in: dir)
            #expect(r.status == 0, "README's `\(c)` exited \(r.status): \(r.stderr.suffix(400))")
            ran += 1
        }
        #expect(ran >= 2, "README has \(ran) fenced htb commands")
        // The exit-code table is the one htb uses (Sources/htb/ExitCodes.swift): every code htb's
        // top-level help lists is in the table and the other way round.
        let help = try runHTB(["--help"]).stdout
        let listed = Set(
            help.components(separatedBy: "EXIT CODES:\n").last!.split(separator: "\n").compactMap {
                Int32($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
            })
        let table = try Self.readmeExitCodes()
        #expect(listed == Set(table.keys), "htb --help \(listed.sorted()) against README \(table.keys.sorted())")
    }
}
