import Analysis
import DicomIO
import Foundation
import Overlay
import VolumeModel

public struct BatchOptions: Sendable {
    public var root: String
    public var out: String
    public var jobs: Int = 2
    public var resume = false
    /// 1-based shard K of N.
    public var shard: (k: Int, n: Int)? = nil
    public var manifest: String?
    public var deidentify = false
    public var png = true
    /// Work in flight is limited to this many megabytes of estimated image memory.
    public var memoryBudgetMB: Int = 4096
    public var retryFailed = false
    /// Skip the other phases of each session (no phase check of automatic livers).
    public var singlePhase = false
    /// Also write the DICOM results (SEG, SR, Secondary Capture) of each study into DICOMOUT/<study-key>/.
    public var dicomOut: String? = nil
    /// With `dicomOut`: one SEG segment per lesion.
    public var segmentPerLesion = false
    public init(root: String, out: String) {
        self.root = root
        self.out = out
    }
}

/// One row of summary.csv / results.jsonl, also kept as DIR/<key>/status.json.
public struct StudyStatus: Codable, Sendable, Equatable {
    public var key: String
    public var studyUID: String
    public var seriesUID: String?
    /// Absent with --deidentify.
    public var patientID: String?
    public var status: String
    public var errorClass: String?
    public var errorMessage: String?
    public var liverVolumeML: Double?
    public var lesionVolumeML: Double?
    public var htbPercent: Double?
    public var category: String?
    public var flags: [String]
    public var seconds: Double
    public var fingerprint: String
    public var files: Int
    /// The automatic result's review flag and its reasons' codes; nil when nothing was segmented
    /// automatically (expert masks) or the study failed.
    public var reviewNeeded: Bool? = nil
    public var reviewReasons: [String]? = nil

    enum CodingKeys: String, CodingKey {
        case key, studyUID = "study_uid", seriesUID = "series_uid", patientID = "patient_id", status, errorClass =
            "error_class"
        case errorMessage = "error_message", liverVolumeML = "liver_volume_ml", lesionVolumeML = "lesion_volume_ml"
        case htbPercent = "htb_percent", category, flags, seconds, fingerprint, files
        case reviewNeeded = "automatic_review_needed", reviewReasons = "review_reasons"
    }
}

public struct BatchProgress: Sendable {
    public var done: Int, failed: Int, skipped: Int, total: Int
    public var elapsedSeconds: Double
}

public struct BatchSummary: Sendable {
    public var statuses: [StudyStatus]
    public var discovered: Int
    public var inShard: Int
    public var reused: Int
    public var nonDicomFiles: Int
    public var failed: Int { statuses.filter { $0.status != "ok" }.count }
}

public enum BatchError: Error, Sendable, CustomStringConvertible {
    case invalidShard(String)
    case manifest(file: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case noStudies(root: String)
    public var description: String {
        switch self {
        case .invalidShard(let s): return "--shard \(s): expected K/N with 1 <= K <= N"
        case .manifest(let f, let r): return "\(f): invalid manifest: \(r)"
        case .cannotWrite(let p, let r): return "\(p): cannot write: \(r)"
        case .noStudies(let r): return "\(r): no DICOM study found"
        }
    }
}

/// Masks and facts for a study, from a manifest (JSON):
/// `{"studies": [{"study_uid": "...", "liver_masks": ["..."], "lesion_masks": ["..."], "clinical": "...", "series": "..."}]}`
/// with paths relative to the manifest's folder.
public struct ManifestEntry: Sendable {
    public var liverMasks: [String], lesionMasks: [String], clinical: String?, series: String?
}

public enum Manifest {
    public static func load(_ path: String) throws -> [String: ManifestEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError.manifest(file: path, reason: "cannot read")
        }
        struct File: Decodable {
            struct Entry: Decodable {
                var study_uid: String
                var liver_masks: [String]?
                var lesion_masks: [String]?
                var clinical: String?
                var series: String?
            }
            var studies: [Entry]
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw BatchError.manifest(file: path, reason: "\(error)")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p) }
        var out: [String: ManifestEntry] = [:]
        for e in file.studies {
            out[e.study_uid] = ManifestEntry(
                liverMasks: (e.liver_masks ?? []).map(resolve), lesionMasks: (e.lesion_masks ?? []).map(resolve),
                clinical: e.clinical.map(resolve), series: e.series)
        }
        return out
    }
}

/// The shared state of the workers, behind one lock.
final class WorkState: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var results: [StudyStatus?]
    private(set) var done = 0, failed = 0, reused = 0
    init(count: Int) { results = Array(repeating: nil, count: count) }

    /// The next queue position, or nil when the queue is empty.
    func take(limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }

    func record(_ i: Int, _ s: StudyStatus, reused r: Bool) {
        lock.lock()
        defer { lock.unlock() }
        results[i] = s
        done += 1
        if s.status != "ok" { failed += 1 }
        if r { reused += 1 }
    }

    func progress(total: Int, since start: Date) -> BatchProgress {
        lock.lock()
        defer { lock.unlock() }
        return BatchProgress(
            done: done, failed: failed, skipped: reused, total: total, elapsedSeconds: Date().timeIntervalSince(start))
    }

    var all: [StudyStatus?] {
        lock.lock()
        defer { lock.unlock() }
        return results
    }
}

/// Limits the estimated image memory of the studies in flight. A study larger than the whole
/// budget still runs, alone.
final class MemoryGate: @unchecked Sendable {
    private let condition = NSCondition()
    private let budget: Int
    private var used = 0
    init(budgetBytes: Int) { budget = budgetBytes }
    func acquire(_ n: Int) {
        condition.lock()
        while used > 0 && used + n > budget { condition.wait() }
        used += n
        condition.unlock()
    }
    func release(_ n: Int) {
        condition.lock()
        used -= n
        condition.broadcast()
        condition.unlock()
    }
}

public enum BatchRunner {
    /// Runs every study of the shard, `jobs` at a time, each into a temporary folder renamed into
    /// place when complete, then writes summary.csv and results.jsonl from the studies' status
    /// files. With `resume`, a study whose status file matches its inputs' fingerprint is kept.
    public static func run(_ o: BatchOptions, progress: @escaping @Sendable (BatchProgress) -> Void) throws
        -> BatchSummary
    {
        if let s = o.shard, !(s.n >= 1 && s.k >= 1 && s.k <= s.n) { throw BatchError.invalidShard("\(s.k)/\(s.n)") }
        let manifest = try o.manifest.map(Manifest.load) ?? [:]
        let found = try Discovery.discover(root: o.root)
        guard !found.studies.isEmpty else { throw BatchError.noStudies(root: o.root) }
        let mine = found.studies.filter { s in
            o.shard.map { Int(Discovery.fnv1a(s.key) % UInt64($0.n)) == $0.k - 1 } ?? true
        }
        try removeLeftovers(in: o.out, keys: nil)
        // Shards may share the DICOM folder: drop only the leftovers of this shard's studies.
        if let dir = o.dicomOut { try removeLeftovers(in: dir, keys: Set(mine.map(\.key))) }

        let start = Date()
        let state = WorkState(count: mine.count)
        var todo: [Int] = []
        for (i, s) in mine.enumerated() {
            let fp = fingerprint(s, manifest: manifest[s.studyUID], options: o)
            if o.resume, let old = readStatus(o.out, s.key), old.fingerprint == fp, old.status == "ok" || !o.retryFailed
            {
                state.record(i, old, reused: true)
            } else {
                todo.append(i)
            }
        }
        progress(state.progress(total: mine.count, since: start))
        let gate = MemoryGate(budgetBytes: max(64, o.memoryBudgetMB) << 20)
        let queue = todo
        DispatchQueue.concurrentPerform(iterations: max(1, min(o.jobs, queue.count))) { _ in
            while let n = state.take(limit: queue.count) {
                let i = queue[n], s = mine[i]
                let status = process(
                    s, options: o, manifest: manifest[s.studyUID], gate: gate,
                    fingerprint: fingerprint(s, manifest: manifest[s.studyUID], options: o))
                state.record(i, status, reused: false)
                progress(state.progress(total: mine.count, since: start))
            }
        }
        let results = state.all
        let reused = state.reused
        let statuses = results.compactMap { $0 }
        try writeTables(statuses, to: o.out, deidentify: o.deidentify)
        return BatchSummary(
            statuses: statuses, discovered: found.studies.count, inShard: mine.count, reused: reused,
            nonDicomFiles: found.nonDicomFiles)
    }

    /// Inputs that decide a study's result: its files (path, size, modification time), its
    /// manifest entry and files, the options that change outputs, and htb's version.
    static func fingerprint(_ s: StudyRef, manifest: ManifestEntry?, options o: BatchOptions) -> String {
        var text =
            "htb \(htbVersion)|png \(o.png)|deid \(o.deidentify)|dicom \(o.dicomOut ?? "-") \(o.segmentPerLesion)|"
        let extra = (manifest.map { $0.liverMasks + $0.lesionMasks + [$0.clinical].compactMap { $0 } } ?? []).map {
            String($0.split(separator: ":").first ?? "")
        }
        for path in s.files + extra {
            let a = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (a?[.size] as? Int) ?? -1
            let mtime = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
            text += "\(path)|\(size)|\(mtime)\n"
        }
        if let m = manifest { text += "series \(m.series ?? "")" }
        return String(format: "%016llx", Discovery.fnv1a(text))
    }

    static func readStatus(_ out: String, _ key: String) -> StudyStatus? {
        guard let d = FileManager.default.contents(atPath: out + "/" + key + "/status.json") else { return nil }
        return try? JSONDecoder().decode(StudyStatus.self, from: d)
    }

    /// Masks by convention: every DICOM SEG of the study; segments labelled like the liver make
    /// the liver mask, segments labelled tumour, lesion, metastasis, neoplasm or nodule the lesions.
    static func conventionMasks(_ inventory: Inventory) -> (liver: [MaskSpec], lesions: [MaskSpec]) {
        var liver: [MaskSpec] = [], lesions: [MaskSpec] = []
        for e in inventory.series where e.isSegmentation {
            for h in e.slices {
                guard let seg = try? Segmentation.read(path: h.path) else { continue }
                func numbers(_ words: [String]) -> [Int] {
                    seg.segments.filter { s in words.contains { s.label.lowercased().contains($0) } }.map(\.number)
                }
                let l = numbers(["liver"]), t = numbers(["tumor", "tumour", "lesion", "metast", "neoplasm", "nodule"])
                if !l.isEmpty { liver.append(MaskSpec(h.path + ":" + l.map(String.init).joined(separator: ","))) }
                if !t.isEmpty { lesions.append(MaskSpec(h.path + ":" + t.map(String.init).joined(separator: ","))) }
            }
        }
        return (liver, lesions)
    }

    static func process(
        _ s: StudyRef, options o: BatchOptions, manifest: ManifestEntry?, gate: MemoryGate, fingerprint: String
    ) -> StudyStatus {
        let t0 = Date()
        let tmp = (o.out as NSString).appendingPathComponent(".tmp-\(s.key)-\(getpid())")
        var status = StudyStatus(
            key: s.key, studyUID: s.studyUID, seriesUID: nil, patientID: nil, status: "failed", errorClass: nil,
            errorMessage: nil, liverVolumeML: nil, lesionVolumeML: nil, htbPercent: nil, category: nil, flags: [],
            seconds: 0, fingerprint: fingerprint, files: s.files.count)
        let dicomTmp = o.dicomOut.map { ($0 as NSString).appendingPathComponent(".tmp-\(s.key)-\(getpid())") }
        do {
            try analyse(s, options: o, manifest: manifest, gate: gate, into: tmp, dicomInto: dicomTmp, status: &status)
            // The DICOM results first: a published report never names objects that are not there.
            if let dicomTmp, let dir = o.dicomOut {
                try moveIntoPlace(dicomTmp, as: (dir as NSString).appendingPathComponent(s.key), key: s.key)
            }
        } catch {
            status.status = "failed"
            status.errorClass = FailureClass.of(error).rawValue
            status.errorMessage = o.deidentify ? scrub("\(error)", root: o.root) : "\(error)"
            if let dicomTmp { try? FileManager.default.removeItem(atPath: dicomTmp) }
        }
        status.seconds = (Date().timeIntervalSince(t0) * 1000).rounded() / 1000
        publish(tmp, as: (o.out as NSString).appendingPathComponent(s.key), key: s.key, status: &status)
        return status
    }

    /// One study analysed into the temporary folder `tmp` (report.json and the overlays), its
    /// figures into `status`. Masks from the manifest, else the study's own SEGs, else automatic.
    static func analyse(
        _ s: StudyRef, options o: BatchOptions, manifest: ManifestEntry?, gate: MemoryGate, into tmp: String,
        dicomInto dicomTmp: String? = nil, status: inout StudyStatus
    ) throws {
        let folder = commonFolder(s.files)
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let inventory = Inventory.scan(files: s.files, root: folder)
        if !o.deidentify, let first = inventory.series.first?.first,
            let f = try? DicomFile(path: first.path, headersOnly: true)
        {
            status.patientID = f.string(.patientID)
        }
        var liver = manifest?.liverMasks.map(MaskSpec.init) ?? []
        var lesions = manifest?.lesionMasks.map(MaskSpec.init) ?? []
        if liver.isEmpty || lesions.isEmpty {
            let found = conventionMasks(inventory)
            if liver.isEmpty { liver = found.liver }
            if lesions.isEmpty { lesions = found.lesions }
        }
        // Whatever is still missing, the analysis segments automatically (report inputs say which).
        // Memory: the largest image series, at ~16 bytes a voxel through the analysis.
        let voxels = inventory.imageSeries().map { $0.first.rows * $0.first.columns * $0.slices.count }.max() ?? 0
        let estimate = voxels * 16 + (64 << 20)
        gate.acquire(estimate)
        defer { gate.release(estimate) }
        let analysis = try Analysis.run(
            .init(
                studyPath: folder, series: manifest?.series, liverMasks: liver, lesionMasks: lesions,
                clinicalFacts: manifest?.clinical, singlePhase: o.singlePhase), inventory: inventory)
        var report = analysis.report
        let pictures =
            o.png || dicomTmp != nil ? analysis.renderOverlays(options: OverlayOptions(), burnInPatient: false) : []
        if o.png {
            report.overlays = try Analysis.writeOverlays(pictures, to: tmp).map { ($0 as NSString).lastPathComponent }
        }
        if let dicomTmp, let dir = o.dicomOut {
            try? FileManager.default.removeItem(atPath: dicomTmp)
            let files = try analysis.writeDicomResults(
                to: dicomTmp,
                options: DicomResultOptions(segmentPerLesion: o.segmentPerLesion, deidentify: o.deidentify),
                pictures: pictures)
            let final = (dir as NSString).appendingPathComponent(s.key)
            report.dicomOutputs = files.all.map {
                (final as NSString).appendingPathComponent(($0 as NSString).lastPathComponent)
            }
        }
        var json = try report.json()
        // Folder names of exports often carry patient names or IDs: with --deidentify no path
        // below the batch root leaves htb.
        if o.deidentify { json = Data(scrub(String(decoding: json, as: UTF8.self), root: o.root).utf8) }
        try writeAtomically(json, to: tmp + "/report.json")
        status.status = "ok"
        status.seriesUID = report.study.seriesUID
        status.liverVolumeML = report.liver.volumeML
        status.lesionVolumeML = report.lesions.totalVolumeML
        status.htbPercent = report.htb.percent
        status.category = report.htb.category
        status.flags = report.flags + (report.guidelines?.flagIDs.filter { !report.flags.contains($0) } ?? [])
        status.reviewNeeded = report.automatic?.reviewNeeded
        status.reviewReasons = report.automatic?.reviewReasons?.map(\.code)
    }

    /// Creates `dir` and removes the leftovers of an interrupted run in it (`.tmp-<key>-<pid>`,
    /// `.old-<key>-<pid>`: never complete, always safe to drop), only those of `keys` when given.
    static func removeLeftovers(in dir: String, keys: Set<String>?) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir)
            where name.hasPrefix(".tmp-") || name.hasPrefix(".old-") {
                let key = name.dropFirst(5).split(separator: "-").dropLast().joined(separator: "-")
                if keys?.contains(key) ?? true {
                    try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(name))
                }
            }
        } catch { throw BatchError.cannotWrite(path: dir, reason: "\(error)") }
    }

    /// Moves the folder `tmp` to `final` in one rename; a previous `final` is moved aside first and
    /// removed after.
    static func moveIntoPlace(_ tmp: String, as final: String, key: String) throws {
        let old = ((final as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
            ".old-\(key)-\(getpid())")
        if FileManager.default.fileExists(atPath: final) {
            try FileManager.default.moveItem(atPath: final, toPath: old)
        }
        guard rename(tmp, final) == 0 else {
            throw BatchError.cannotWrite(path: final, reason: String(cString: strerror(errno)))
        }
        try? FileManager.default.removeItem(atPath: old)
    }

    /// status.json written last into `tmp`, then the folder moved into place as `final` in one
    /// rename (a previous result of the same study is moved aside first and removed after).
    static func publish(_ tmp: String, as final: String, key: String, status: inout StudyStatus) {
        do {
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            try JSONEncoder.htbPretty.encode(status).write(
                to: URL(fileURLWithPath: tmp + "/status.json"), options: .atomic)
            try moveIntoPlace(tmp, as: final, key: key)
        } catch {
            status.status = "failed"
            status.errorClass = FailureClass.cannotWrite.rawValue
            status.errorMessage = "\(error)"
        }
    }

    /// Replaces the batch root in `text` by `<root>` (and so every path below it).
    static func scrub(_ text: String, root: String) -> String {
        let r = root.hasSuffix("/") ? String(root.dropLast()) : root
        return text.replacingOccurrences(of: r, with: "<root>")
    }

    static func commonFolder(_ files: [String]) -> String {
        guard var prefix = files.first.map({ ($0 as NSString).deletingLastPathComponent }) else { return "." }
        for f in files.dropFirst() {
            while !(f.hasPrefix(prefix + "/")) && prefix.count > 1 {
                prefix = (prefix as NSString).deletingLastPathComponent
            }
        }
        return prefix
    }

    // MARK: tables

    static let columns = [
        "key", "study_uid", "series_uid", "patient_id", "status", "error_class", "error_message",
        "liver_ml", "lesion_ml", "htb_percent", "category", "flags", "automatic_review_needed", "review_reasons",
        "seconds",
    ]

    /// summary.csv (one row a study, sorted by key) and results.jsonl, written atomically.
    public static func writeTables(_ statuses: [StudyStatus], to out: String, deidentify: Bool) throws {
        let sorted = statuses.sorted { $0.key < $1.key }
        let cols = deidentify ? columns.filter { $0 != "patient_id" } : columns
        var csv = cols.joined(separator: ",") + "\n"
        for s in sorted {
            let values: [String: String] = [
                "key": s.key, "study_uid": s.studyUID, "series_uid": s.seriesUID ?? "", "patient_id": s.patientID ?? "",
                "status": s.status, "error_class": s.errorClass ?? "", "error_message": s.errorMessage ?? "",
                "liver_ml": s.liverVolumeML.map { String(format: "%.4f", $0) } ?? "",
                "lesion_ml": s.lesionVolumeML.map { String(format: "%.4f", $0) } ?? "",
                "htb_percent": s.htbPercent.map { String(format: "%.4f", $0) } ?? "", "category": s.category ?? "",
                "flags": s.flags.joined(separator: ";"), "seconds": String(format: "%.3f", s.seconds),
                "automatic_review_needed": s.reviewNeeded.map { $0 ? "yes" : "no" } ?? "",
                "review_reasons": (s.reviewReasons ?? []).joined(separator: ";"),
            ]
            csv += cols.map { csvField(values[$0]!) }.joined(separator: ",") + "\n"
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var jsonl = ""
        for var s in sorted {
            if deidentify { s.patientID = nil }
            jsonl += String(decoding: try e.encode(s), as: UTF8.self) + "\n"
        }
        do {
            try Data(csv.utf8).write(to: URL(fileURLWithPath: out + "/summary.csv"), options: .atomic)
            try Data(jsonl.utf8).write(to: URL(fileURLWithPath: out + "/results.jsonl"), options: .atomic)
        } catch { throw BatchError.cannotWrite(path: out, reason: "\(error)") }
    }

    /// Joins the outputs of several batch folders (shards) into `out`: every study's status file,
    /// one row each (a key found twice keeps the first folder's).
    public static func merge(_ dirs: [String], out: String, deidentify: Bool) throws -> [StudyStatus] {
        var byKey: [String: StudyStatus] = [:]
        for d in dirs {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: d) else {
                throw BatchError.cannotWrite(path: d, reason: "cannot read the folder")
            }
            for name in names where !name.hasPrefix(".") {
                if byKey[name] == nil, let s = readStatus(d, name) { byKey[name] = s }
            }
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let all = Array(byKey.values)
        try writeTables(all, to: out, deidentify: deidentify)
        return all.sorted { $0.key < $1.key }
    }
}
