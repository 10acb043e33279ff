import DicomIO
import Foundation
import VolumeModel

/// One study found under the batch root: every file that carries its Study Instance UID,
/// wherever it lies (a study split over folders is one study; a second copy of it adds files
/// whose instances the series loader deduplicates by SOP Instance UID).
public struct StudyRef: Sendable {
    public var studyUID: String
    /// Output folder name: derived from the UID, sanitised (never from patient data).
    public var key: String
    public var files: [String]
}

public struct DiscoveryResult: Sendable {
    public var studies: [StudyRef]
    public var nonDicomFiles: Int
    public var unreadableFiles: [(path: String, reason: String)]
}

public enum Discovery {
    /// Finds every study under `root` (any layout). A DICOMDIR, where present, lists the files of
    /// its folder tree, which is then not scanned file by file. Headers are read in parallel; only
    /// the path and Study Instance UID of each file are kept (about 150 bytes a file).
    public static func discover(root: String) throws -> DiscoveryResult {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DicomError.pathNotFound(root)
        }
        var files = Inventory.listFiles(under: root)
        // DICOMDIRs: their folder's files come from the directory records.
        let dicomdirs = files.filter { ($0 as NSString).lastPathComponent.uppercased() == "DICOMDIR" }
        var fromDicomdir: [String] = []
        for d in dicomdirs {
            let base = (d as NSString).deletingLastPathComponent
            guard let listed = try? referencedFiles(dicomdir: d) else { continue }
            files = files.filter { !$0.hasPrefix(base + "/") }
            fromDicomdir += listed.map { base + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
        }
        let all = (files + fromDicomdir).sorted()
        let results = parallelMap(all.count) { i -> (String, Bool) in
            let h = try SliceHeader.read(path: all[i])
            return (h.studyUID, h.sopClassUID == SliceHeader.mediaStorageDirectory)
        }
        var byStudy: [String: [String]] = [:]
        var nonDicom = 0
        var unreadable: [(String, String)] = []
        for (file, r) in zip(all, results) {
            switch r {
            case .success(let (uid, isDicomdir)):
                if !isDicomdir { byStudy[uid, default: []].append(file) }
            case .failure(DicomError.notDicom):
                nonDicom += 1
            case .failure(let e):
                unreadable.append((file, "\(e)"))
            }
        }
        let studies = byStudy.map { StudyRef(studyUID: $0.key, key: studyKey($0.key), files: $0.value.sorted()) }.sorted
        { $0.key < $1.key }
        return DiscoveryResult(studies: studies, nonDicomFiles: nonDicom, unreadableFiles: unreadable)
    }

    /// Paths (relative to the DICOMDIR's folder) from (0004,1500) Referenced File ID of every
    /// record in (0004,1220) Directory Record Sequence (PS3.3 F.3.2.2).
    static func referencedFiles(dicomdir: String) throws -> [String] {
        let f = try DicomFile(path: dicomdir, headersOnly: false)
        let records = Tag(0x0004, 0x1220, "Directory Record Sequence"),
            fileID = Tag(0x0004, 0x1500, "Referenced File ID")
        var out: [String] = []
        for i in 0..<(f.itemCount([TagPathStep(records)]) ?? 0) {
            if let id = f.string([TagPathStep(records, item: i), TagPathStep(fileID)]), !id.isEmpty {
                let parts = id.split(separator: "\\").map(String.init).filter { $0 != ".." && $0 != "." && !$0.isEmpty }
                out.append(parts.joined(separator: "/"))
            }
        }
        return out
    }

    /// A folder name from a Study Instance UID: characters other than letters, digits, '.', '-'
    /// and '_' become '_', at most 48 of them, then '-' and 8 hex digits of the UID's hash, so
    /// two UIDs that sanitise alike still differ and nothing can climb out of the output folder.
    public static func studyKey(_ uid: String) -> String {
        var safe = String(
            uid.unicodeScalars.map { c -> Character in
                (c.properties.isASCIIHexDigit || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "."
                    || c == "-" || c == "_") ? Character(c) : "_"
            })
        while safe.hasPrefix(".") { safe.removeFirst() }
        if safe.isEmpty { safe = "study" }
        return String(safe.prefix(48)) + "-" + String(format: "%08x", UInt32(truncatingIfNeeded: fnv1a(uid)))
    }

    public static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}
