import ArgumentParser
import DicomIO
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "List every study and series under a folder (headers only).",
        discussion: Help.discussion(
            "", examples: ["htb info SampleStudies", "htb info \(Help.sample) --json"],
            exits: [.ok, .internalError, .usage, .noInput]))

    @Argument(help: "A folder (searched at any depth) or a DICOM file.")
    var path: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let inv: Inventory
        do { inv = try Inventory.scan(path) } catch { throw fail(error) }
        if json {
            FileHandle.standardOutput.write(try InfoJSON(inv).encoded())
            print()
        } else {
            print(InfoJSON.table(inv), terminator: "")
        }
        if inv.series.isEmpty {
            throw fail(
                DicomError.noSeries(
                    path: path, dicomFiles: inv.dicomFileCount, skippedFiles: inv.skippedNonDicom.count,
                    unreadable: inv.unreadable.count, firstReason: inv.unreadable.first?.reason)
            )
        }
    }
}

/// The inventory as JSON (`htb.info/1`) and as a table.
struct InfoJSON: Encodable {
    var schema = "htb.info/1"
    var root: String
    var dicomFiles: Int
    var skippedNonDicom: Int
    var unreadable: [[String: String]]
    var studies: [Study]

    struct Study: Encodable {
        var studyUid: String
        var series: [Series]
    }
    struct Series: Encodable {
        var key: String
        var seriesUid: String
        var split: Bool
        var modality: String
        var seriesNumber: Int?
        var description: String
        var images: Int
        var matrix: [Int]
        var pixelSpacingMm: [Double]?
        var sliceStepMm: Double?
        var orientation: String
        var phaseHint: String?
        var transferSyntax: String
        var files: [String]?
    }

    init(_ inv: Inventory) {
        root = inv.root
        dicomFiles = inv.dicomFileCount
        skippedNonDicom = inv.skippedNonDicom.count
        unreadable = inv.unreadable.map { ["path": $0.path, "reason": $0.reason] }
        var byStudy: [String: [Series]] = [:]
        for e in inv.series {
            let ps = e.first.pixelSpacingMM
            byStudy[e.studyUID, default: []].append(
                Series(
                    key: e.key, seriesUid: e.seriesUID, split: e.splitIndex > 0, modality: e.modality,
                    seriesNumber: e.seriesNumber,
                    description: e.seriesDescription, images: e.imageCount, matrix: [e.first.columns, e.first.rows],
                    pixelSpacingMm: ps.map { [$0.rowMM, $0.columnMM] },
                    sliceStepMm: e.sliceStepMM.map { ($0 * 1e4).rounded() / 1e4 },
                    orientation: e.orientationName, phaseHint: e.phaseHint,
                    transferSyntax: transferSyntaxName(e.first.transferSyntaxUID),
                    files: nil))
        }
        studies = byStudy.keys.sorted().map { Study(studyUid: $0, series: byStudy[$0]!) }
    }

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    static func table(_ inv: Inventory) -> String {
        var out = "\(inv.root): \(inv.dicomFileCount) DICOM files, \(inv.skippedNonDicom.count) non-DICOM skipped"
        out += inv.unreadable.isEmpty ? "\n" : ", \(inv.unreadable.count) unreadable\n"
        for u in inv.unreadable.prefix(5) { out += "  unreadable: \(u.reason)\n" }
        let info = InfoJSON(inv)
        for s in info.studies {
            out += "study \(s.studyUid)\n"
            out +=
                "  "
                + [
                    "#", "modality", "description", "images", "matrix", "pixel mm", "step mm", "orientation", "phase",
                    "transfer syntax", "key",
                ]
                .joined(separator: " | ") + "\n"
            for e in s.series {
                let cells: [String] = [
                    e.seriesNumber.map(String.init) ?? "-", e.modality, e.description.isEmpty ? "-" : e.description,
                    "\(e.images)",
                    "\(e.matrix[0])x\(e.matrix[1])",
                    e.pixelSpacingMm.map { String(format: "%.3fx%.3f", $0[0], $0[1]) } ?? "-",
                    e.sliceStepMm.map { String(format: "%.3f", $0) } ?? "-",
                    e.orientation + (e.split ? " (split: scout/localizer?)" : ""),
                    e.phaseHint ?? "-", e.transferSyntax, e.key,
                ]
                out += "  " + cells.joined(separator: " | ") + "\n"
            }
        }
        return out
    }
}
