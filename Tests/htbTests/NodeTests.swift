import DicomIO
import Foundation
import Node
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Peers of the DICOM node tests: DCMTK's storescu/echoscu (senders), dsrdump (reads the SR back)
/// and Orthanc (the PACS receiving the results), all from Debian (`scripts/setup --test-peers`).
enum NodePeers {
    static func tool(_ name: String) -> String? {
        ["/usr/bin/", "/usr/sbin/", "/usr/local/bin/"].map { $0 + name }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static var available: Bool { ["storescu", "echoscu", "dsrdump", "Orthanc"].allSatisfy { tool($0) != nil } }
    static let skipMessage = "storescu, echoscu, dsrdump or Orthanc missing: run scripts/setup --test-peers"

    /// A TCP port free on 127.0.0.1 right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                _ = bind(fd, p, len)
                return getsockname(fd, p, &len)
            }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Connects to 127.0.0.1:`port` and closes at once, as a TCP liveness probe does.
    static func probe(_ port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(fd)
    }

    /// Polls `condition` every 100 ms up to `seconds`.
    @discardableResult
    static func wait(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}

/// Orthanc on loopback with a temporary configuration and storage folder, stopped by `stop()`.
final class OrthancPeer {
    let httpPort = NodePeers.freePort(), dicomPort = NodePeers.freePort()
    let process = Process()

    init(folder: String, nodePort: Int, luaScripts: [String] = [], stableAge: Int = 60) throws {
        let storage = folder + "/orthanc-db"
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        // DICOM stores only from the htb node's AE title at 127.0.0.1; HTTP on localhost only.
        let config: [String: Any] = [
            "Name": "htb-test", "StorageDirectory": storage, "IndexDirectory": storage, "HttpPort": httpPort,
            "DicomPort": dicomPort, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false, "DicomAlwaysAllowStore": false, "DicomCheckModalityHost": true,
            "DicomModalities": ["htb": ["HTB", "127.0.0.1", nodePort]], "Plugins": [] as [String],
            "LuaScripts": luaScripts, "StableAge": stableAge,
        ]
        let path = folder + "/orthanc.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        process.executableURL = URL(fileURLWithPath: NodePeers.tool("Orthanc")!)
        process.arguments = [path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        _ = FileManager.default.createFile(atPath: folder + "/orthanc.log", contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/orthanc.log"))
        try process.run()
        guard NodePeers.wait(30, { (try? self.get("/system")) != nil }) else {
            stop()
            throw NodeError.cannotListen(port: httpPort, reason: "Orthanc did not start (see \(folder)/orthanc.log)")
        }
    }

    func get(_ path: String) throws -> Data {
        let url = URL(string: "http://127.0.0.1:\(httpPort)\(path)")!
        nonisolated(unsafe) var result: Data?
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: url) { data, response, _ in
            if (response as? HTTPURLResponse)?.statusCode == 200 { result = data }
            done.signal()
        }.resume()
        done.wait()
        guard let result else { throw NodeError.cannotSend(destination: url.absoluteString, reason: "HTTP error") }
        return result
    }

    func json(_ path: String) throws -> Any { try JSONSerialization.jsonObject(with: try get(path)) }

    /// Series of the study with `studyUID`: (modality, instance ids).
    func series(ofStudy studyUID: String) throws -> [(modality: String, instances: [String])] {
        let studies = try json("/studies?expand") as? [[String: Any]] ?? []
        guard
            let study = studies.first(where: {
                ($0["MainDicomTags"] as? [String: Any])?["StudyInstanceUID"] as? String == studyUID
            }), let ids = study["Series"] as? [String]
        else { return [] }
        return try ids.map { id in
            let s = try json("/series/\(id)") as? [String: Any] ?? [:]
            return (
                (s["MainDicomTags"] as? [String: Any])?["Modality"] as? String ?? "", s["Instances"] as? [String] ?? []
            )
        }
    }

    /// Through the REST API (the test runner's threads block SIGTERM, which a child inherits), then
    /// SIGKILL if it has not exited within 10 s.
    func stop() {
        guard process.isRunning else { return }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/tools/shutdown")!)
        request.httpMethod = "POST"
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { _, _, _ in done.signal() }.resume()
        _ = done.wait(timeout: .now() + 5)
        if !NodePeers.wait(10, { !self.process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// `htb serve` as a child process with its JSON log in a file.
final class ServedNode: @unchecked Sendable {
    let port: Int, spool: String, logPath: String, arguments: [String], echoAE: String
    private(set) var process = Process()

    /// `echoAE`: the calling AE title of the readiness C-ECHO (one --accept-from allows).
    init(folder: String, port: Int = NodePeers.freePort(), arguments: [String], echoAE: String = "SENDER") throws {
        self.port = port
        self.echoAE = echoAE
        spool = folder + "/spool"
        logPath = folder + "/node.log"
        self.arguments = arguments
        try start()
    }

    func start() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.htb)
        process.arguments =
            ["serve", "--spool", spool, "--port", "\(port)", "--loopback", "--log", logPath, "--timeout", "10"]
            + arguments
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        NodePeers.wait(10) { self.echo(callingAE: self.echoAE) }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func echo(callingAE: String = "SENDER") -> Bool {
        (try? runProcess(NodePeers.tool("echoscu")!, ["-aet", callingAE, "-aec", "HTB", "127.0.0.1", "\(port)"]))?
            .status == 0
    }

    /// storescu of every file under `folder` (calling AE `SENDER`). `-R` proposes exactly the
    /// classes of the files: storescu's default list of 64 classes has no Segmentation Storage.
    func send(_ folder: String, callingAE: String = "SENDER") throws -> RunResult {
        try runProcess(
            NodePeers.tool("storescu")!,
            ["-R", "-aet", callingAE, "-aec", "HTB", "127.0.0.1", "\(port)", "+sd", folder])
    }

    func events(_ name: String? = nil) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { name == nil || $0["event"] as? String == name }
    }

    /// Lines of the event log that break docs/schema/node-event.schema.json.
    func logViolations() throws -> [String] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").flatMap { line in
            try JSONSchemaValidator.violations(ofJSON: Data(line.utf8), against: "node-event.schema.json")
                .map { "\(line.prefix(120)): \($0)" }
        }
    }

    func records() throws -> [String: StudyRecord] {
        Dictionary(uniqueKeysWithValues: try Node.status(spool: spool).map { ($0.studyUID, $0) })
    }
}

/// A copy of a CT series with a new study (and series and instance UIDs), optionally another
/// Patient ID, only some slices, or one slice's Pixel Data cut short.
func copyStudy(
    _ source: String, to target: String, studyUID: String, patientID: String? = nil, slices: Int? = nil,
    truncatePixelsOf truncated: Int? = nil
) throws {
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    let names = try FileManager.default.contentsOfDirectory(atPath: source).filter { $0.hasSuffix(".dcm") }.sorted()
    let seriesUID = studyUID + ".1"
    for (i, name) in names.prefix(slices ?? names.count).enumerated() {
        let file = try DicomFile(path: source + "/" + name, headersOnly: false)
        try file.set(.studyInstanceUID, studyUID)
        try file.set(.seriesInstanceUID, seriesUID)
        try file.set(.sopInstanceUID, seriesUID + ".\(i + 1)")
        if let patientID { try file.set(.patientID, patientID) }
        if i == truncated {
            let half = [UInt8](repeating: 0, count: 100)
            try half.withUnsafeBytes { try file.setPixels($0, bitsAllocated: 16) }
        }
        try file.save(to: target + "/" + name)
    }
}

@Suite("DICOM node (htb serve)", .serialized)
struct NodeTests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low/ct"

    @Test("UIDs and AE titles follow DICOM's grammar before they name files or pass associations")
    func grammar() throws {
        for ok in ["1.2.840.10008.5.1.4.1.1.2", "2.25.0", "1", String(repeating: "1", count: 64)] {
            #expect(DicomGrammar.isUID(ok), "\(ok)")
        }
        for bad in ["", "../../x", "1..2", "1.2.", ".1", "1.02", "1.2a", "1/2", String(repeating: "1", count: 65)] {
            #expect(!DicomGrammar.isUID(bad), "\(bad)")
        }
        #expect(DicomGrammar.isAETitle("HTB") && DicomGrammar.isAETitle("MY NODE 1"))
        for bad in ["", "   ", "A\\B", String(repeating: "A", count: 17), "A\u{7}"] {
            #expect(!DicomGrammar.isAETitle(bad), "\(bad)")
        }
        #expect(
            try Destination(parsing: "ORTHANC@127.0.0.1:4242")
                == Destination(aeTitle: "ORTHANC", host: "127.0.0.1", port: 4242))
        for bad in ["ORTHANC@host", "@h:1", "A@h:0", "A@h:70000", "A@:1"] {
            #expect(throws: NodeError.self) { try Destination(parsing: bad) }
        }
    }

    @Test(
        "storescu sends a study, htb analyses it and Orthanc receives its SEG, SR (the report's HTB) and pictures",
        .enabled(if: NodePeers.available, Comment(rawValue: NodePeers.skipMessage)))
    func toOrthanc() throws {
        let dir = Paths.temporaryDirectory()
        let nodePort = NodePeers.freePort()
        let orthanc = try OrthancPeer(folder: dir, nodePort: nodePort)
        defer { orthanc.stop() }
        let node = try ServedNode(
            folder: dir, port: nodePort,
            arguments: ["--settle", "1", "--forward", "ORTHANC@127.0.0.1:\(orthanc.dicomPort)"])
        defer { node.stop() }
        #expect(node.echo())
        let sent = try node.send(Self.sample)
        #expect(sent.status == 0, "\(sent.stderr)")
        let study = try #require(node.events("study_received").first?["study_uid"] as? String)
        #expect(NodePeers.wait(90) { (try? node.records()[study]?.state) == .sent }, "\(node.events().suffix(5))")
        #expect(node.events("instance_stored").count == 40)

        // Orthanc has the results in the study: SEG, SR and three Secondary Captures.
        let series = try orthanc.series(ofStudy: study)
        #expect(Set(series.map(\.modality)) == ["SEG", "SR", "OT"], "\(series.map(\.modality))")
        #expect(series.filter { $0.modality == "OT" }.flatMap(\.instances).count == 3)
        // The SR's HTB, read back by DCMTK's dsrdump from Orthanc's copy, is the report's.
        let record = try #require(try node.records()[study])
        let report = try JSONSerialization.jsonObject(
            with: try Data(
                contentsOf: URL(fileURLWithPath: node.spool + "/studies/\(study)/analysis-1/out/report.json")))
        let percent = try #require(((report as? [String: Any])?["htb"] as? [String: Any])?["percent"] as? Double)
        #expect(record.htbPercent == percent)
        let srID = try #require(series.first { $0.modality == "SR" }?.instances.first)
        let srPath = dir + "/sr-from-orthanc.dcm"
        try orthanc.get("/instances/\(srID)/file").write(to: URL(fileURLWithPath: srPath))
        let dump = try runProcess(NodePeers.tool("dsrdump")!, [srPath])
        #expect(
            dump.stdout.contains("\"Hepatic tumour burden\")=\"\(decimalString(percent, places: 4))\""),
            "\(dump.stdout)")

        // Each event is one JSON line of docs/schema/node-event.schema.json; each state.json and the
        // status command's JSON (checked by runHTB) follow node-study.schema.json.
        let log = try String(contentsOfFile: node.logPath, encoding: .utf8).split(separator: "\n")
        #expect(log.count == node.events().count)
        for line in log {
            let v = try JSONSchemaValidator.violations(ofJSON: Data(line.utf8), against: "node-event.schema.json")
            #expect(v.isEmpty, "\(line): \(v)")
        }
        let state = try Data(contentsOf: URL(fileURLWithPath: node.spool + "/studies/\(study)/state.json"))
        #expect(try JSONSchemaValidator.violations(ofJSON: state, against: "node-study.schema.json").isEmpty)
        #expect(try runHTB(["serve", "--status", node.spool, "--json"]).status == 0)
        let status = try runHTB(["serve", "--status", node.spool])
        #expect(
            status.status == 0 && status.stdout.contains("sent") && status.stdout.contains(study), "\(status.stdout)")
        let queued = try #require(node.events("study_queued").first?["time"] as? String)
        let done = try #require(node.events("study_sent").first?["time"] as? String)
        print("node: queued \(queued), sent \(done)")
    }

    @Test(
        "docs/deploy's Orthanc routing: a CT study stored in Orthanc reaches htb, whose results come back to Orthanc",
        .enabled(if: NodePeers.available, Comment(rawValue: NodePeers.skipMessage)))
    func orthancRoutes() throws {
        let dir = Paths.temporaryDirectory()
        let nodePort = NodePeers.freePort()
        let orthanc = try OrthancPeer(
            folder: dir, nodePort: nodePort, luaScripts: [Paths.packageRoot + "/docs/deploy/route-ct-to-htb.lua"],
            stableAge: 1)
        defer { orthanc.stop() }
        let node = try ServedNode(
            folder: dir, port: nodePort,
            arguments: [
                "--settle", "1", "--accept-from", "ORTHANC", "--forward", "ORTHANC@127.0.0.1:\(orthanc.dicomPort)",
            ], echoAE: "ORTHANC")
        defer { node.stop() }
        // The modality sends to Orthanc, as a scanner would.
        let stored = try runProcess(
            NodePeers.tool("storescu")!,
            ["-aet", "HTB", "-aec", "ORTHANC", "127.0.0.1", "\(orthanc.dicomPort)", "+sd", Self.sample])
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(
            NodePeers.wait(120) { (try? node.records().values.first?.state) == .sent },
            "\(node.events().suffix(5))")
        let study = try #require(try node.records().keys.first)
        let series = try orthanc.series(ofStudy: study)
        #expect(Set(series.map(\.modality)) == ["CT", "SEG", "SR", "OT"], "\(series.map(\.modality))")
        // Only the CT series went to htb, once: nothing looped back.
        #expect(node.events("study_received").count == 1)
        #expect(node.events("instance_refused").isEmpty)
        #expect(try node.records()[study]?.instances == 40)
    }

    @Test(
        "a SEG sent with the study gives the masks: its Liver and Lesion segments, the expert's HTB",
        .enabled(if: NodePeers.available, Comment(rawValue: NodePeers.skipMessage)))
    func segmentationWithStudy() throws {
        let dir = Paths.temporaryDirectory()
        let node = try ServedNode(folder: dir, arguments: ["--settle", "1"])
        defer { node.stop() }
        let study = dir + "/with-seg"
        try FileManager.default.createDirectory(atPath: study, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.sample) {
            try FileManager.default.copyItem(atPath: Self.sample + "/" + name, toPath: study + "/" + name)
        }
        let truth = Paths.packageRoot + "/SampleStudies/phantom-htb-low/truth/seg.dcm"
        try FileManager.default.copyItem(atPath: truth, toPath: study + "/seg.dcm")
        #expect(try node.send(study).status == 0)
        let uid = try #require(node.events("study_received").first?["study_uid"] as? String)
        #expect(NodePeers.wait(60) { (try? node.records()[uid]?.state) == .done }, "\(node.events().suffix(3))")
        let started = try #require(node.events("analysis_started").first)
        #expect((started["segmentation"] as? String ?? "").contains("liver segment 1"), "\(started)")
        // The same figures as analyze with the SEG's segments as expert masks.
        let expert = try runHTB([
            "analyze", Self.sample, "--liver-mask", truth + ":Liver", "--lesion-mask", truth + ":Lesion*", "--json",
            "--no-png", "--out", dir + "/expert",
        ])
        let report = try JSONSerialization.jsonObject(with: Data(expert.stdout.utf8)) as? [String: Any]
        let percent = try #require((report?["htb"] as? [String: Any])?["percent"] as? Double)
        #expect(try node.records()[uid]?.htbPercent == percent)
        #expect(try node.records()[uid]?.instances == 41)
    }

    @Test(
        "hostile traffic is refused or parked with a logged reason, and the node keeps serving",
        .enabled(if: NodePeers.available, Comment(rawValue: NodePeers.skipMessage)))
    func hostile() throws {
        let dir = Paths.temporaryDirectory()
        let node = try ServedNode(
            folder: dir,
            arguments: ["--settle", "1", "--accept-from", "SENDER", "--max-study-mb", "1", "--max-associations", "1"])
        defer { node.stop() }
        // Unknown calling AE, wrong called AE: refused at association.
        #expect(!node.echo(callingAE: "EVIL"))
        #expect(
            (try runProcess(
                NodePeers.tool("echoscu")!, ["-aet", "SENDER", "-aec", "NOTHTB", "127.0.0.1", "\(node.port)"]))
                .status != 0)
        let refused = node.events("association").filter { $0["accepted"] as? Bool == false }
        #expect(refused.count == 2)
        #expect((refused.map { $0["reason"] as? String ?? "" }).joined().contains("not in --accept-from"))

        // Not CT: an SR (htb's own) is refused with 0x0122 and its class named.
        let out = dir + "/analysed"
        #expect(
            try runHTB(["analyze", Self.sample, "--out", out, "--dicom-out", out + "/dicom", "--no-png"]).status == 0)
        let srOnly = dir + "/sr-only"
        try FileManager.default.createDirectory(atPath: srOnly, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: out + "/dicom/sr.dcm", toPath: srOnly + "/sr.dcm")
        _ = try node.send(srOnly)
        let notCT = try #require(node.events("instance_refused").first)
        #expect(notCT["status"] as? String == "0x0122")
        #expect((notCT["reason"] as? String ?? "").contains("not CT or SEG"), "\(notCT)")

        // A truncated instance (Pixel Data 100 bytes for 64 x 64 x 16 bits) with a Patient ID of
        // ../../x: stored under its UIDs only, analysed, parked as failed with analyze's reason.
        let bad = dir + "/truncated"
        try copyStudy(
            Self.sample, to: bad, studyUID: "2.25.1001", patientID: "../../x", slices: 6, truncatePixelsOf: 2)
        #expect(try node.send(bad).status == 0)
        #expect(NodePeers.wait(60) { (try? node.records()["2.25.1001"]?.state) == .failed })
        let parked = try #require(try node.records()["2.25.1001"])
        #expect((parked.reason ?? "").contains("htb analyze exited with status"), "\(parked.reason ?? "")")
        // The spool holds only UID-named study folders; the Patient ID reached no path.
        #expect(try FileManager.default.contentsOfDirectory(atPath: node.spool + "/studies") == ["2.25.1001"])
        let paths = FileManager.default.enumerator(atPath: node.spool)?.allObjects as? [String] ?? []
        #expect(!paths.contains { $0.contains("..") || $0.hasSuffix("/x") }, "\(paths.filter { $0.contains("x") })")

        // A study over --max-study-mb 1 (the 1.3 MB sample): refused once over, parked with the reason.
        let big = try node.send(Self.sample)
        #expect(
            big.status != 0 || big.stderr.contains("0xa700") || big.stderr.lowercased().contains("out of resources"))
        let records = try node.records()
        let over = try #require(records.values.first { ($0.reason ?? "").contains("--max-study-mb 1") })
        #expect(over.state == .failed)

        // --max-associations 1: while a sender is connected a second association is refused (transient).
        let slow = dir + "/slow"
        try copyStudy(Self.sample, to: slow, studyUID: "2.25.1002", slices: 30)
        let sender = Thread { _ = try? node.send(slow) }
        sender.start()
        #expect(
            NodePeers.wait(30) { node.events("study_received").contains { $0["study_uid"] as? String == "2.25.1002" } })
        #expect(!node.echo())
        while !sender.isFinished { usleep(50_000) }
        #expect(
            node.events("association").contains { ($0["reason"] as? String ?? "").contains("--max-associations 1") })

        // Still serving; the status command lists both parked studies.
        #expect(node.echo())
        let status = try runHTB(["serve", "--status", node.spool])
        #expect(status.stdout.contains("2 failed"), "\(status.stdout)")
        #expect(NodePeers.wait(60) { (try? node.records()["2.25.1002"]?.state) == .done })

        // A port probe (connect, close) is not an association: no association line. Only the
        // association events are counted: the study finished above may still log its sending.
        let associationEvents: () -> Int = {
            node.events().filter { ($0["event"] as? String ?? "").hasPrefix("association") }.count
        }
        let before = associationEvents()
        NodePeers.probe(node.port)
        usleep(500_000)
        #expect(associationEvents() == before)
        // After a restart the study parked for its size stays parked; resending it changes nothing.
        node.kill9()
        try node.start()
        _ = try node.send(Self.sample)
        #expect(try node.records()[over.studyUID]?.state == .failed)
        #expect(try node.records()[over.studyUID]?.instances == over.instances)
        let violations = try node.logViolations()
        #expect(violations.isEmpty, "\(violations.prefix(3))")
    }

    @Test(
        "four studies from four concurrent senders, kill -9 during receive and during analysis: each analysed and sent exactly once",
        .enabled(if: NodePeers.available, Comment(rawValue: NodePeers.skipMessage)))
    func killAndResume() throws {
        let dir = Paths.temporaryDirectory()
        let nodePort = NodePeers.freePort()
        let orthanc = try OrthancPeer(folder: dir, nodePort: nodePort)
        defer { orthanc.stop() }
        let studies = (1...4).map { "2.25.2000\($0)" }
        for (n, uid) in studies.enumerated() {
            try copyStudy(Self.sample, to: dir + "/study\(n)", studyUID: uid, patientID: n == 3 ? "../../x" : nil)
        }
        let node = try ServedNode(
            folder: dir, port: nodePort,
            arguments: ["--settle", "1", "--jobs", "2", "--forward", "ORTHANC@127.0.0.1:\(orthanc.dicomPort)"])
        defer { node.stop() }

        // Four senders at once; the node is killed after some instances are stored.
        @Sendable func sendAll() -> [Int32] {
            // One thread per sender (concurrentPerform would run only as many as there are cores).
            nonisolated(unsafe) var codes = [Int32](repeating: -1, count: studies.count)
            let threads = (0..<studies.count).map { n in
                Thread { codes[n] = (try? node.send(dir + "/study\(n)"))?.status ?? -1 }
            }
            threads.forEach { $0.start() }
            while threads.contains(where: { !$0.isFinished }) { usleep(20_000) }
            return codes
        }
        let senders = Thread { _ = sendAll() }
        senders.start()
        #expect(
            NodePeers.wait(30) {
                node.events("study_received").count == 4 && node.events("instance_stored").count >= 40
            })
        node.kill9()
        while !senders.isFinished { usleep(50_000) }
        let storedBeforeKill = node.events("instance_stored").count
        #expect(storedBeforeKill < 160, "the kill came after every instance was stored")

        // Restart; the senders retry their studies (duplicates are acknowledged, not stored twice).
        try node.start()
        #expect(sendAll() == [0, 0, 0, 0])
        #expect(NodePeers.wait(30) { !node.events("analysis_started").isEmpty })
        node.kill9()
        try node.start()
        #expect(node.events("study_resumed").count >= 1)
        #expect(
            NodePeers.wait(120) { (try? node.records().values.filter { $0.state == .sent }.count) == 4 },
            "\((try? node.records().values.map { "\($0.studyUID) \($0.state) \($0.reason ?? "")" }) ?? [])")

        // Exactly once: one SR per study in Orthanc, 40 CT instances per study in the spool.
        for uid in studies {
            let series = try orthanc.series(ofStudy: uid)
            #expect(series.filter { $0.modality == "SR" }.flatMap(\.instances).count == 1, "\(uid): \(series)")
            #expect(series.filter { $0.modality == "SEG" }.flatMap(\.instances).count == 1, "\(uid)")
            #expect(try node.records()[uid]?.instances == 40)
            // (A kill between the state write and its log line could only lose the line.)
            #expect(node.events("study_sent").filter { $0["study_uid"] as? String == uid }.count <= 1)
        }
        // Nothing outside UID-named folders in the spool.
        let names = try FileManager.default.contentsOfDirectory(atPath: node.spool + "/studies")
        #expect(Set(names) == Set(studies))
        #expect(try FileManager.default.contentsOfDirectory(atPath: node.spool + "/incoming").isEmpty)
        let violations = try node.logViolations()
        #expect(violations.isEmpty, "\(violations.prefix(3))")
    }
}
