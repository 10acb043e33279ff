import DicomIO
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The node's work after reception: settle, analyse (one child `htb analyze` per study, `--jobs` at
/// a time), send with back-off. One tick every 100 ms on the calling thread.
extension Node {
    private final class ServerOutcome: @unchecked Sendable {
        let lock = NSLock()
        var error: Error?
        var finished = false
    }

    /// Serves until SIGTERM or SIGINT. Throws when the spool cannot be used or the port not opened.
    public func run() throws {
        try resume()
        let outcome = ServerOutcome()
        let server = DicomNetwork.ServerOptions(
            aeTitle: options.aeTitle, port: options.port, loopbackOnly: options.loopbackOnly,
            maxAssociations: options.maxAssociations, tempFolder: spool.incoming, timeoutSeconds: options.timeoutSeconds
        )
        let thread = Thread { [self] in
            if options.drain { return }
            var failure: Error?
            do { try DicomNetwork.serve(server, handler: self) } catch { failure = error }
            outcome.lock.lock()
            outcome.error = failure
            outcome.finished = true
            outcome.lock.unlock()
        }
        thread.start()
        signal(SIGPIPE, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in requestStop(signal: sig) }
            source.resume()
            sources.append(source)
        }
        while true {
            outcome.lock.lock()
            let failure = outcome.error
            outcome.lock.unlock()
            if let failure {
                requestStop(signal: 0)
                throw failure
            }
            lock.lock()
            let done = stopping
            lock.unlock()
            if done || (options.drain && isIdle) { break }
            tick(now: Date())
            usleep(100_000)
        }
        DicomNetwork.stop()
        log.log("node_stopped", ["pid": Int(getpid())])
        _ = sources
    }

    /// Nothing left to do: every study sent, done or failed.
    var isIdle: Bool {
        lock.lock()
        defer { lock.unlock() }
        return studies.values.allSatisfy {
            ([.sent, .done, .failed].contains($0.record.state)
                || ($0.record.state == .sending && options.forward == nil))
                && !$0.sending
        }
    }

    /// Stops taking work; running analyses are ended (their studies are analysed again after a restart).
    func requestStop(signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return }
        stopping = true
        for live in studies.values { live.process?.terminate() }
        log.log("node_stopping", ["signal": Int(signal)])
    }

    /// One scheduling step (public for tests that drive the node without a network).
    public func tick(now: Date) {
        lock.lock()
        defer { lock.unlock() }
        for uid in studies.keys.sorted() {
            guard var live = studies[uid] else { continue }
            if live.record.state == .receiving && live.storesInFlight == 0 && live.record.instances > 0
                && now.timeIntervalSince(live.record.lastReceived) >= options.settleSeconds
            {
                live.record.state = .queued
                if (try? persist(&live.record)) != nil {
                    log.log(
                        "study_queued",
                        ["study_uid": uid, "instances": live.record.instances, "bytes": live.record.bytes])
                }
            }
            if let p = live.process, !p.isRunning { finishAnalysis(&live, now: now) }
            studies[uid] = live
        }
        var running = studies.values.filter { $0.process != nil }.count
        let waiting = studies.values.filter { $0.record.state == .queued }
            .sorted { $0.record.lastReceived < $1.record.lastReceived }
        for candidate in waiting where running < options.jobs {
            var live = candidate
            startAnalysis(&live, now: now)
            studies[live.record.studyUID] = live
            if live.process != nil { running += 1 }
        }
        if let destination = options.forward {
            for uid in studies.keys.sorted() {
                guard var live = studies[uid], live.record.state == .sending, !live.sending, live.nextSendAt <= now
                else { continue }
                live.sending = true
                studies[uid] = live
                let record = live.record
                DispatchQueue.global().async { [self] in send(record, to: destination) }
            }
        }
    }

    // MARK: Analysis

    private func startAnalysis(_ live: inout Live, now: Date) {
        let uid = live.record.studyUID
        live.record.analyses += 1
        let folder = spool.analysisFolder(uid, run: live.record.analyses)
        var arguments = ["analyze", spool.ctFolder(uid), "--out", folder + "/out", "--dicom-out", folder + "/dicom"]
        let seg = segmentationArguments(uid)
        arguments += seg.arguments + options.analyzeArguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: options.executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HTB_DIE_WITH_PARENT"] = "1"
        process.environment = environment
        do {
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: folder + "/analysis.log", contents: nil)
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/analysis.log"))
            process.standardOutput = output
            process.standardError = output
            live.record.state = .analysing
            try persist(&live.record)
            try process.run()
            try? output.close()
        } catch {
            fail(&live, reason: "cannot start htb analyze: \(error)")
            return
        }
        live.process = process
        live.analysisGeneration = live.generation
        live.analysisStarted = now
        var fields: [String: Any] = [
            "study_uid": uid, "run": live.record.analyses, "pid": Int(process.processIdentifier),
        ]
        if let note = seg.note { fields["segmentation"] = note }
        log.log("analysis_started", fields)
    }

    /// Words that name a lesion segment in a SEG (label, case-insensitive).
    static let lesionWords = ["lesion", "tumor", "tumour", "mass", "metasta", "neoplasm", "cancer", "hcc", "nodule"]

    /// A SEG that came with the study gives the masks: its segment labelled "liver" (whole organ),
    /// its segments whose labels name a lesion. Without a liver segment the SEG is not used.
    private func segmentationArguments(_ uid: String) -> (arguments: [String], note: String?) {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: spool.segFolder(uid))) ?? [])
            .filter { $0.hasSuffix(".dcm") }.sorted()
        guard let name = files.first else { return ([], nil) }
        let path = spool.segFolder(uid) + "/" + name
        guard let seg = try? Segmentation.read(path: path) else {
            return ([], "SEG \(name) unreadable: analysed automatically")
        }
        let labelled = seg.segments.map { ($0.number, $0.label.lowercased()) }
        let lesions = labelled.filter { s in Self.lesionWords.contains { s.1.contains($0) } }.map(\.0)
        guard let liver = labelled.first(where: { $0.1 == "liver" })?.0 else {
            return ([], "SEG \(name) has no segment labelled 'liver': analysed automatically")
        }
        var arguments = ["--liver-mask", "\(path):\(liver)"]
        if !lesions.isEmpty {
            arguments += ["--lesion-mask", "\(path):" + lesions.map(String.init).joined(separator: ",")]
        }
        return (
            arguments, "SEG \(name): liver segment \(liver), lesion segments \(lesions.isEmpty ? "none" : "\(lesions)")"
        )
    }

    private func finishAnalysis(_ live: inout Live, now: Date) {
        guard let process = live.process else { return }
        live.process = nil
        let uid = live.record.studyUID
        let folder = spool.analysisFolder(uid, run: live.record.analyses)
        let seconds = live.analysisStarted.map { now.timeIntervalSince($0) } ?? 0
        if stopping { return }
        if live.generation != live.analysisGeneration {
            live.record.state = .receiving
            try? persist(&live.record)
            log.log(
                "study_reopened", ["study_uid": uid, "was": "analysing", "reason": "instances arrived during analysis"])
            return
        }
        guard process.terminationReason == .exit && process.terminationStatus == 0 else {
            let why =
                process.terminationReason == .uncaughtSignal
                ? "htb analyze was killed by signal \(process.terminationStatus)"
                : "htb analyze exited with status \(process.terminationStatus)"
            fail(&live, reason: Self.lastError(inLog: folder + "/analysis.log").map { "\(why): \($0)" } ?? why)
            return
        }
        let dicom = folder + "/dicom"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dicom)) ?? []).filter {
            $0.hasSuffix(".dcm")
        }
        .sorted()
        var fields: [String: Any] = ["study_uid": uid, "run": live.record.analyses, "seconds": seconds]
        if let data = FileManager.default.contents(atPath: folder + "/out/report.json"),
            let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            if let htb = report["htb"] as? [String: Any] {
                live.record.htbPercent = htb["percent"] as? Double
                fields["htb_percent"] = htb["percent"]
                fields["category"] = htb["category"]
            }
            if let flags = report["flags"] as? [String] { fields["flags"] = flags }
        }
        live.record.results = files.map { "analysis-\(live.record.analyses)/dicom/\($0)" }
        live.record.state = options.forward == nil ? .done : .sending
        live.record.sendAttempts = 0
        live.record.reason = nil
        live.nextSendAt = now
        fields["results"] = files
        do { try persist(&live.record) } catch {
            fail(&live, reason: "\(error)")
            return
        }
        log.log("study_analysed", fields)
    }

    /// The last `htb: error: ...` line of an analysis log.
    static func lastError(inLog path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").last { $0.hasPrefix("htb: error: ") }.map { String($0.dropFirst(12)) }
    }

    private func fail(_ live: inout Live, reason: String) {
        live.record.state = .failed
        live.record.reason = reason
        try? persist(&live.record)
        log.log("study_failed", ["study_uid": live.record.studyUID, "reason": reason])
    }

    // MARK: Sending

    private func send(_ record: StudyRecord, to destination: Destination) {
        let started = Date()
        let files = record.results.map { spool.study(record.studyUID) + "/" + $0 }
        var failure: String?
        do {
            let statuses = try DicomNetwork.store(
                files: files, to: destination, callingAE: options.aeTitle, timeoutSeconds: options.timeoutSeconds)
            let bad = zip(record.results, statuses).filter { $0.1 != 0 }
            if !bad.isEmpty {
                failure = bad.map {
                    "\($0.0): " + ($0.1 == 0xFFFF ? "not sent" : String(format: "status 0x%04X", $0.1))
                }
                .joined(separator: "; ")
            }
        } catch {
            failure = "\(error)"
        }
        lock.lock()
        defer { lock.unlock() }
        guard var live = studies[record.studyUID] else { return }
        live.sending = false
        defer { studies[record.studyUID] = live }
        guard live.record.state == .sending else { return }
        live.record.sendAttempts += 1
        let seconds = Date().timeIntervalSince(started)
        if let failure {
            if live.record.sendAttempts >= options.maxSendAttempts {
                fail(&live, reason: "sending to \(destination) failed \(live.record.sendAttempts) times: \(failure)")
                return
            }
            let delay = min(options.retrySeconds * pow(2, Double(live.record.sendAttempts - 1)), 300)
            live.nextSendAt = Date().addingTimeInterval(delay)
            live.record.reason = failure
            try? persist(&live.record)
            log.log(
                "send_failed",
                [
                    "study_uid": record.studyUID, "destination": "\(destination)", "reason": failure,
                    "attempt": live.record.sendAttempts, "retry_in_seconds": delay,
                ])
            return
        }
        live.record.state = .sent
        live.record.reason = nil
        try? persist(&live.record)
        log.log(
            "study_sent",
            [
                "study_uid": record.studyUID, "destination": "\(destination)", "files": record.results.count,
                "seconds": seconds, "attempt": live.record.sendAttempts,
            ])
    }

    // MARK: Status

    /// The spool's studies as recorded (read-only; works while a node runs).
    public static func status(spool path: String) throws -> [StudyRecord] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path + "/studies", isDirectory: &isDirectory),
            isDirectory.boolValue
        else { throw NodeError.noSpool(path: path) }
        return try Spool(root: path).load()
    }
}
