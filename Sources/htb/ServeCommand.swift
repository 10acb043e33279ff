import ArgumentParser
import Foundation
import Node

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "A DICOM node: receive CT studies by C-STORE, analyse each, send SEG, SR and pictures on.",
        discussion: Help.discussion(
            """
            A Storage SCP (C-ECHO; CT, Enhanced CT and SEG; other classes refused with status 0x0122 and a \
            logged reason). Each instance is on disk (fsync, atomic rename) before success is answered. A study \
            quiet for --settle seconds is analysed by `htb analyze` (with the masks of a SEG that came with it, \
            else automatically) and its results are sent to --forward, retried with back-off. The spool keeps \
            each study's state (receiving, queued, analysing, sending, sent, done, failed): a restart, even \
            after kill -9, resumes every study. One JSON line per event on stderr or --log. SIGTERM stops; \
            analyses cut short run again after the restart. See docs/dicom-node.md.
            """,
            examples: [
                "htb serve --spool spool --drain",
                "htb serve --status spool",
            ],
            exits: [.ok, .internalError, .usage, .noInput, .cannotWrite, .cannotListen]))

    @Option(help: "This node's AE title; associations calling another are refused.") var aet = "HTB"
    @Option(help: "TCP port.") var port = 11112
    @Flag(help: "Listen on 127.0.0.1 only (a sidecar, tests).") var loopback = false
    @Option(help: "Spool folder (created; survives restarts).") var spool: String?
    @Option(help: "Send results to AET@HOST:PORT by C-STORE.") var forward: String?
    @Option(
        name: .customLong("accept-from"), help: "Calling AE titles allowed, comma-separated (default: any).")
    var acceptFrom: String?
    @Option(help: "Seconds a study must be quiet before it is analysed.") var settle: Double = 10
    @Option(help: "Studies analysed at the same time.") var jobs = 1
    @Option(name: .customLong("max-associations"), help: "Concurrent associations; more are refused (transient).")
    var maxAssociations = 8
    @Option(name: .customLong("max-study-mb"), help: "Largest study accepted (MiB); a larger one is parked as failed.")
    var maxStudyMB = 4096
    @Option(help: "Network timeout in seconds (association, DIMSE, sending).") var timeout = 30
    @Option(help: "Append the JSON event lines to this file instead of stderr.") var log: String?
    @Option(help: "Clinical facts (JSON) given to every analysis, as analyze --clinical.") var clinical: String?
    @Flag(help: "Do not listen: finish the spool's pending studies (queued, interrupted, unsent), then exit.")
    var drain = false
    @Option(help: "Print the studies of a spool and their states, then exit.") var status: String?
    @Flag(help: "With --status: JSON instead of a table.") var json = false

    func validate() throws {
        if status == nil && spool == nil { throw ValidationError("give --spool DIR (or --status DIR)") }
        guard DicomGrammar.isAETitle(aet) else {
            throw ValidationError("--aet '\(aet)': 1-16 characters, no backslash or control characters")
        }
        guard (1...65535).contains(port) else { throw ValidationError("--port \(port): expected 1-65535") }
        guard jobs >= 1, maxAssociations >= 1, maxStudyMB >= 1, timeout >= 1, settle >= 0 else {
            throw ValidationError(
                "--jobs, --max-associations, --max-study-mb and --timeout must be >= 1, --settle >= 0")
        }
        if let acceptFrom {
            for ae in acceptFrom.split(separator: ",") where !DicomGrammar.isAETitle(String(ae)) {
                throw ValidationError("--accept-from: '\(ae)' is not an AE title")
            }
        }
        if let forward {
            do { _ = try Destination(parsing: forward) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        if let status {
            do { try printStatus(try Node.status(spool: status)) } catch {
                throw fail(error)
            }
            return
        }
        var o = NodeOptions(spool: spool!, executable: Self.executablePath())
        o.aeTitle = aet
        o.port = port
        o.loopbackOnly = loopback
        o.forward = try forward.map { try Destination(parsing: $0) }
        o.acceptFrom = acceptFrom.map { Set($0.split(separator: ",").map(String.init)) }
        o.settleSeconds = settle
        o.jobs = jobs
        o.maxAssociations = maxAssociations
        o.maxStudyBytes = Int64(maxStudyMB) << 20
        o.timeoutSeconds = timeout
        o.drain = drain
        if let clinical { o.analyzeArguments = ["--clinical", (clinical as NSString).standardizingPath] }
        // DICOM is request and response: Nagle's algorithm only delays each small PDU (a C-STORE
        // response, a command) by a delayed ACK. DCMTK disables it when TCP_NODELAY=1; a value the
        // user set is kept (TCP_NODELAY=0 restores Nagle).
        if getenv("TCP_NODELAY") == nil { setenv("TCP_NODELAY", "1", 1) }
        do {
            let node = Node(options: o, log: try EventLog(path: log))
            try node.run()
        } catch {
            throw fail(error)
        }
    }

    /// This executable, for the `htb analyze` children.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    func printStatus(_ records: [StudyRecord]) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(records), as: UTF8.self))
            return
        }
        print("STATE      INSTANCES       MB  HTB %  UPDATED                   STUDY UID / REASON")
        for r in records {
            let htb = r.htbPercent.map { String(format: "%5.1f", $0) } ?? "    -"
            print(
                r.state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(
                        format: " %9d %8.1f  %@  %@  %@", r.instances, Double(r.bytes) / 1_048_576, htb,
                        EventLog.timestamp(r.updated), r.studyUID) + (r.reason.map { "\n           \($0)" } ?? ""))
        }
        let counts = Dictionary(grouping: records, by: \.state).mapValues(\.count)
        print(
            "\(records.count) studies"
                + (records.isEmpty
                    ? ""
                    : ": "
                        + StudyState.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }
                        .joined(separator: ", ")))
    }
}
