import Foundation
import Testing

/// Where things are, seen from the package root.
enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let sharedData = packageRoot + "/../shared/data"
    static var hasSharedData: Bool { FileManager.default.fileExists(atPath: sharedData + "/unpack.sh") }
    static let skipMessage = "../shared/data is absent (a fresh clone): real-data tests skipped; CI runs them"

    /// Unpacks the annotated cases once (the script is idempotent and locks) and returns the folder.
    static let realData: String = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [sharedData + "/unpack.sh"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try! p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    static var conformance: String { sharedData + "/conformance" }

    /// The built `htb` executable (beside the test bundle).
    static var htb: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/htb",
            Bundle.main.bundleURL.path + "/htb",
            packageRoot + "/.build/debug/htb",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }

    /// A folder of its own for one test, `htb-tests-<pid>-<name>-<id>` in the system's temporary
    /// folder. The folders stay until the next run (a failing test's files can be read); the first
    /// call of a run removes those of runs whose process has ended (`removeEndedRuns`).
    static func temporaryDirectory(_ name: String = #function) -> String {
        _ = removeEndedRuns
        let dir =
            NSTemporaryDirectory()
            + "htb-tests-\(getpid())-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Removes the test folders of earlier runs whose process no longer exists (each `make test`
    /// left 100-200 of them, 555 MB on 2026-12-06: 2102 folders, 7 GB, had gathered on one machine).
    /// A folder whose process is alive (another run in progress) stays. Runs once.
    static let removeEndedRuns: Void = {
        let tmp = NSTemporaryDirectory(), fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix("htb-tests-") {
            let fields = name.split(separator: "-")
            guard fields.count > 3, let pid = Int32(fields[2]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? fm.removeItem(atPath: tmp + name) }
        }
    }()
}

/// Result of running the CLI.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with `arguments`, optionally in `directory` and with `environment`, and
/// collects its output.
func runProcess(
    _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil
) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes concurrently so a large output cannot block the child.
    nonisolated(unsafe) var errData = Data()
    let t = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    t.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !t.isFinished { usleep(1000) }
    return RunResult(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs the built htb with `arguments`; its JSON outputs are checked against docs/schema.
func runHTB(_ arguments: [String]) throws -> RunResult {
    let result = try runProcess(Paths.htb, arguments)
    // What the run wrote or printed as JSON must conform to docs/schema.
    OutputSchemas.check(arguments, result)
    return result
}

/// Relative difference.
func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }
