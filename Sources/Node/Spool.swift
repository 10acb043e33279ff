import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a study is in the node's work. Every change is written to the study's `state.json` (durably)
/// before the node acts on it, so a restart after SIGKILL resumes each study from its last state.
public enum StudyState: String, Codable, Sendable, CaseIterable {
    /// Instances are arriving; the study is analysed once it has been quiet for `--settle` seconds.
    case receiving
    /// Settled, waiting for a free analysis slot (`--jobs`).
    case queued
    /// `htb analyze` is running on it (re-queued on restart: results of an interrupted run are never used).
    case analysing
    /// Results are on disk and being sent to `--forward` (retried with back-off; resent as the same
    /// files, with the same UIDs, after a restart).
    case sending
    /// Results stored by the destination.
    case sent
    /// Analysed, no `--forward` given: results stay in the spool.
    case done
    /// Parked with its reason (analysis failed, study too large, sending gave up).
    case failed
}

/// A study's record in the spool (`studies/<Study Instance UID>/state.json`).
public struct StudyRecord: Codable, Sendable, Equatable {
    public var studyUID: String
    public var state: StudyState
    public var reason: String?
    public var firstReceived: Date
    public var lastReceived: Date
    public var instances: Int
    public var bytes: Int64
    /// Analyses started (an interrupted one counts; a finished one is logged `study_analysed` once).
    public var analyses: Int
    public var sendAttempts: Int
    public var htbPercent: Double?
    /// Result files, relative to the study's folder.
    public var results: [String]
    public var updated: Date

    enum CodingKeys: String, CodingKey {
        case studyUID = "study_uid", state, reason, firstReceived = "first_received", lastReceived = "last_received"
        case instances, bytes, analyses, sendAttempts = "send_attempts", htbPercent = "htb_percent", results, updated
    }

    public init(studyUID: String, now: Date) {
        self.studyUID = studyUID
        state = .receiving
        firstReceived = now
        lastReceived = now
        instances = 0
        bytes = 0
        analyses = 0
        sendAttempts = 0
        results = []
        updated = now
    }
}

/// The spool folder: `incoming/` (instances being received; never acknowledged, cleared at start),
/// `studies/<Study UID>/{state.json, ct/, seg/, analysis-N/}`. Names come only from UIDs that pass
/// `DicomGrammar.isUID`. Every write that matters is durable: temporary file, fsync, rename, fsync of
/// the folder.
public struct Spool: Sendable {
    public let root: String

    public init(root: String) { self.root = URL(fileURLWithPath: root).standardizedFileURL.path }

    public var incoming: String { root + "/incoming" }
    public var studies: String { root + "/studies" }
    public func study(_ uid: String) -> String { studies + "/" + uid }
    public func ctFolder(_ uid: String) -> String { study(uid) + "/ct" }
    public func segFolder(_ uid: String) -> String { study(uid) + "/seg" }
    public func analysisFolder(_ uid: String, run: Int) -> String { study(uid) + "/analysis-\(run)" }

    /// Creates the folders and removes partial receptions left by a killed node.
    public func prepare() throws {
        for dir in [root, incoming, studies] {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw NodeError.spool(path: dir, reason: "cannot create: \(error.localizedDescription)")
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? [] {
            unlink(incoming + "/" + name)
        }
        guard access(root, W_OK) == 0 else { throw NodeError.spool(path: root, reason: "not writable") }
    }

    /// Writes a study's record durably.
    public func write(_ record: StudyRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, enc in
            var c = enc.singleValueContainer()
            try c.encode(EventLog.timestamp(date))
        }
        let data = try encoder.encode(record)
        try Durable.write(data, to: study(record.studyUID) + "/state.json")
    }

    /// Every study of the spool, counted again from the files (instances and bytes are not written
    /// per instance). A study folder without state.json (killed between its creation and the record)
    /// is `receiving`.
    public func load() throws -> [StudyRecord] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: studies) else {
            throw NodeError.spool(path: studies, reason: "cannot list (not a spool? run htb serve --spool DIR first)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { dec in
            let text = try dec.singleValueContainer().decode(String.self)
            guard let d = EventLog.date(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: dec.codingPath, debugDescription: "not a date"))
            }
            return d
        }
        var out: [StudyRecord] = []
        for uid in names.sorted() where DicomGrammar.isUID(uid) {
            var record: StudyRecord
            if let data = FileManager.default.contents(atPath: study(uid) + "/state.json") {
                do { record = try decoder.decode(StudyRecord.self, from: data) } catch {
                    throw NodeError.spool(path: study(uid) + "/state.json", reason: "unreadable: \(error)")
                }
            } else {
                record = StudyRecord(studyUID: uid, now: Date())
            }
            let files = instanceFiles(uid)
            record.instances = files.count
            record.bytes = files.reduce(0) { $0 + $1.bytes }
            if let last = files.map(\.modified).max() { record.lastReceived = max(record.lastReceived, last) }
            out.append(record)
        }
        return out
    }

    /// The study's stored instances (CT and SEG).
    public func instanceFiles(_ uid: String) -> [(path: String, bytes: Int64, modified: Date)] {
        var out: [(String, Int64, Date)] = []
        for dir in [ctFolder(uid), segFolder(uid)] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasSuffix(".dcm") {
                let path = dir + "/" + name
                var st = stat()
                guard stat(path, &st) == 0 else { continue }
                let modified = Date(
                    timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
                out.append((path, Int64(st.st_size), modified))
            }
        }
        return out
    }
}

/// Writes that survive a power cut or SIGKILL once they return.
public enum Durable {
    public static func sync(_ path: String, directory: Bool = false) throws {
        let fd = open(path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError.spool(path: path, reason: "cannot open: \(errorText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw NodeError.spool(path: path, reason: "fsync failed: \(errorText())") }
    }

    /// Temporary file beside `path`, fsync, rename, fsync of the folder.
    public static func write(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw NodeError.spool(path: tmp, reason: "cannot write")
        }
        try sync(tmp)
        try rename(tmp, to: path)
    }

    /// rename(2) then fsync of the target's folder. Returns false when `target` exists and
    /// `replace` is false (the source is left in place).
    @discardableResult
    public static func rename(_ source: String, to target: String, replace: Bool = true) throws -> Bool {
        if replace {
            guard Glibc.rename(source, target) == 0 else {
                throw NodeError.spool(path: target, reason: "rename from \(source) failed: \(errorText())")
            }
        } else {
            // link(2) fails when the target exists: a duplicate is never overwritten.
            guard link(source, target) == 0 else {
                if errno == EEXIST { return false }
                throw NodeError.spool(path: target, reason: "link from \(source) failed: \(errorText())")
            }
            unlink(source)
        }
        try sync((target as NSString).deletingLastPathComponent, directory: true)
        return true
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
