import CDCMTK
import Foundation
import VolumeModel

/// One series as htb sees it: the files of one Series Instance UID that share orientation and
/// matrix. A scout filed under the CT's UID becomes an entry of its own (`splitIndex` > 0).
public struct SeriesEntry: Sendable {
    public var studyUID: String
    public var seriesUID: String
    /// 0 for the largest part of a Series Instance UID, 1, 2, ... for parts split off it
    /// (scouts, localizers) by orientation or matrix.
    public var splitIndex: Int
    public var slices: [SliceHeader]
    /// Other parts of the same UID with the same orientation but another matrix: slices of this
    /// stack that cannot join it. Loading refuses the series rather than measure it incomplete.
    public var sameOrientationOtherMatrix: [SliceHeader] = []

    public var first: SliceHeader { slices[0] }
    public var modality: String { first.modality }
    public var seriesNumber: Int? { first.seriesNumber }
    public var seriesDescription: String { first.seriesDescription }
    public var isSegmentation: Bool { first.isSegmentation }
    /// Identifier used on the command line and in reports: the UID, with "#n" for split-off parts.
    public var key: String { splitIndex == 0 ? seriesUID : "\(seriesUID)#\(splitIndex)" }
    /// Number of images: files, or frames of a multi-frame object.
    public var imageCount: Int { slices.count == 1 && first.frameIndex == nil ? first.numberOfFrames : slices.count }

    /// "axial", "coronal", "sagittal" or "oblique" from the slice normal's main direction.
    public var orientationName: String {
        guard let o = first.orientation else { return "unknown" }
        let n = o.row.cross(o.column)
        let a = [abs(n.x), abs(n.y), abs(n.z)]
        let m = a.max()!
        if m < 0.9 { return "oblique" }
        return a[2] == m ? "axial" : (a[1] == m ? "coronal" : "sagittal")
    }

    /// Step between slices along the normal (mm), the median of sorted Image Position (Patient) steps.
    public var sliceStepMM: Double? {
        let z = slices.compactMap(\.normalPositionMM).sorted()
        guard z.count >= 2, z.count == slices.count else { return nil }
        let steps = zip(z.dropFirst(), z).map { $0 - $1 }.sorted()
        return steps[steps.count / 2]
    }

    /// Phase guessed from words in the Series Description (a hint, never a fact).
    public var phaseHint: String? { DicomIO.phaseHint(forDescription: seriesDescription) }

    /// One-line label for messages.
    public var label: String {
        let number = seriesNumber.map { "#\($0) " } ?? ""
        return "\(number)'\(seriesDescription)' \(modality) \(imageCount) images (\(key))"
    }
}

/// Words in a Series Description that hint at the contrast phase.
public func phaseHint(forDescription description: String) -> String? {
    let words = Set(description.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init))
    func has(_ w: [String]) -> Bool { !words.isDisjoint(with: w) }
    if has(["art", "arterial", "ap", "arteriell", "lap", "eap"]) { return "arterial" }
    if has(["pv", "pvp", "portal", "venous", "portovenous", "vp", "ven"]) { return "portal_venous" }
    if has(["eqp", "equilibrium", "delayed", "delay", "late", "del"]) { return "delayed" }
    if has(["nc", "native", "plain", "noncontrast", "unenhanced", "pre", "nativ"]) { return "non_contrast" }
    return nil
}

/// Every DICOM object under a path, grouped into series.
public struct Inventory: Sendable {
    public var root: String
    public var series: [SeriesEntry]
    public var dicomFileCount: Int
    /// Files that are not DICOM (skipped and counted, as the issue asks).
    public var skippedNonDicom: [String]
    /// Files that look like DICOM but could not be read, with the error (which names the file).
    public var unreadable: [(path: String, reason: String)]

    public var studies: [String] { Array(Set(series.map(\.studyUID))).sorted() }

    /// Scans `path` (a file or a folder, any depth, any file names), reading headers only, in parallel.
    public static func scan(_ path: String) throws -> Inventory {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DicomError.pathNotFound(path)
        }
        // Load DCMTK's dictionary while the tree is listed.
        let preload = Thread { htb_dcm_preload() }
        preload.start()
        let files = isDir.boolValue ? listFiles(under: path) : [path]
        return scan(files: files, root: path)
    }

    /// Scans an explicit list of files (a study gathered from several folders); `root` names it.
    public static func scan(files: [String], root: String) -> Inventory {
        htb_dcm_preload()
        let results = parallelMap(files.count) { i in try SliceHeader.images(path: files[i]) }
        var headers: [SliceHeader] = []
        var dicomFiles = 0
        var skipped: [String] = []
        var unreadable: [(String, String)] = []
        for (file, r) in zip(files, results) {
            switch r {
            case .success(let images):
                // DICOMDIR: an index, not an image
                if images.first?.sopClassUID == SliceHeader.mediaStorageDirectory { continue }
                headers += images
                dicomFiles += 1
            case .failure(DicomError.notDicom):
                skipped.append(file)
            case .failure(let e):
                unreadable.append((file, "\(e)"))
            }
        }
        return Inventory(
            root: root, series: group(headers), dicomFileCount: dicomFiles,
            skippedNonDicom: skipped, unreadable: unreadable)
    }

    /// Regular files under `root` at any depth, sorted; hidden entries (".name") skipped, symbolic
    /// links followed for files but not for folders (no cycles).
    public static func listFiles(under root: String) -> [String] {
        var out: [String] = []
        var pending = [root]
        while let dir = pending.popLast() {
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name.hasPrefix(".") { continue }
                let full = dir.hasSuffix("/") ? dir + name : dir + "/" + name
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_DIR): pending.append(full)
                case Int32(DT_REG): out.append(full)
                default:
                    // Unknown type (some file systems) or a link: ask stat.
                    var st = stat()
                    if stat(full, &st) == 0 {
                        if (st.st_mode & S_IFMT) == S_IFREG {
                            out.append(full)
                        } else if (st.st_mode & S_IFMT) == S_IFDIR && Int32(entry.pointee.d_type) != Int32(DT_LNK) {
                            pending.append(full)
                        }
                    }
                }
            }
        }
        return out.sorted()
    }

    /// Groups by study and series UID, then splits a series by orientation (to 0.001) and matrix.
    static func group(_ headers: [SliceHeader]) -> [SeriesEntry] {
        struct Key: Hashable {
            let study: String, series: String, orientation: [Int], rows: Int, columns: Int, stack: String
        }
        var groups: [Key: [SliceHeader]] = [:]
        for h in headers {
            let o = h.orientation.map { ($0.row.array + $0.column.array).map { Int(($0 * 1000).rounded()) } } ?? []
            groups[
                Key(
                    study: h.studyUID, series: h.seriesUID, orientation: o, rows: h.rows, columns: h.columns,
                    stack: h.stackKey),
                default: []
            ].append(h)
        }
        var bySeries: [String: [[SliceHeader]]] = [:]
        for (k, v) in groups {
            bySeries[k.study + "\u{0}" + k.series, default: []].append(
                v.sorted { ($0.path, $0.frameIndex ?? 0) < ($1.path, $1.frameIndex ?? 0) })
        }
        var out: [SeriesEntry] = []
        func orientationKey(_ h: SliceHeader) -> [Int] {
            h.orientation.map { ($0.row.array + $0.column.array).map { Int(($0 * 1000).rounded()) } } ?? []
        }
        for (_, parts) in bySeries {
            let ordered = parts.sorted { $0.count != $1.count ? $0.count > $1.count : $0[0].path < $1[0].path }
            for (i, p) in ordered.enumerated() {
                var e = SeriesEntry(studyUID: p[0].studyUID, seriesUID: p[0].seriesUID, splitIndex: i, slices: p)
                e.sameOrientationOtherMatrix = ordered.enumerated()
                    .filter {
                        $0.offset != i && orientationKey($0.element[0]) == orientationKey(p[0])
                            && !orientationKey(p[0]).isEmpty
                            && ($0.element[0].rows != p[0].rows || $0.element[0].columns != p[0].columns)
                    }
                    .map { $0.element[0] }
                out.append(e)
            }
        }
        return out.sorted {
            ($0.studyUID, $0.seriesNumber ?? Int.max, $0.seriesUID, $0.splitIndex)
                < ($1.studyUID, $1.seriesNumber ?? Int.max, $1.seriesUID, $1.splitIndex)
        }
    }

    /// The image series htb can measure: CT (or any modality when `anyModality`), not SEG.
    public func imageSeries(anyModality: Bool = false) -> [SeriesEntry] {
        series.filter { !$0.isSegmentation && (anyModality || $0.modality == "CT") }
    }

    /// Selects series by Series Instance UID (or key), Series Number, or a description substring.
    public func select(_ selector: String) throws -> SeriesEntry {
        let candidates = series.filter { !$0.isSegmentation }
        if let e = candidates.first(where: { $0.key == selector }) { return e }
        let byUID = candidates.filter { $0.seriesUID == selector }
        if let e = byUID.first { return e }  // the largest part (splitIndex 0 comes first)
        if let n = Int(selector) {
            let byNumber = candidates.filter { $0.seriesNumber == n && $0.splitIndex == 0 }
            if byNumber.count == 1 { return byNumber[0] }
            if byNumber.count > 1 {
                throw DicomError.ambiguousSeries(selector: selector, matches: byNumber.map(\.label))
            }
        }
        let byText = candidates.filter {
            $0.splitIndex == 0 && $0.seriesDescription.localizedCaseInsensitiveContains(selector)
        }
        if byText.count == 1 { return byText[0] }
        if byText.count > 1 { throw DicomError.ambiguousSeries(selector: selector, matches: byText.map(\.label)) }
        throw DicomError.seriesNotFound(selector: selector, available: candidates.map(\.label))
    }
}
