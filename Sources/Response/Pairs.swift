import Analysis
import Foundation
import Overlay

/// Many comparisons from a manifest of pairs (`htb compare --manifest PAIRS.json --out DIR`):
/// one `DIR/<id>/` per pair (compare.json, compare.png), `DIR/summary.csv` one row a pair. A pair
/// that fails leaves its row with the reason and never stops the others; each pair's folder is
/// written beside its final place and renamed into it, and the summary is replaced atomically.
///
/// Manifest: `{"pairs": [{"id": "p1", "baseline": "base", "follow_up": "later",
/// "baseline_liver_masks": [...], "baseline_lesion_masks": [...], "follow_up_liver_masks": [...],
/// "follow_up_lesion_masks": [...], "baseline_series": "...", "follow_up_series": "..."}]}` (a series
/// as `--series` selects it: two phases of one folder can be a pair); paths relative to the manifest's folder; ids of letters,
/// digits, `.`, `_` and `-`, unique.
public enum PairManifest {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var baseline: String, followUp: String
        public var baselineLiverMasks: [String], baselineLesionMasks: [String]
        public var followUpLiverMasks: [String], followUpLesionMasks: [String]
        public var baselineSeries: String? = nil, followUpSeries: String? = nil
    }

    public struct Row: Sendable {
        public var id: String
        public var comparison: Comparison?
        public var errorClass: String?
        public var error: String?
    }

    public static func load(_ path: String) throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResponseError.manifest(file: path, reason: "cannot read it")
        }
        struct File: Decodable {
            struct Pair: Decodable {
                var id: String
                var baseline: String
                var follow_up: String
                var baseline_liver_masks: [String]?
                var baseline_lesion_masks: [String]?
                var follow_up_liver_masks: [String]?
                var follow_up_lesion_masks: [String]?
                var baseline_series: String?
                var follow_up_series: String?
            }
            var pairs: [Pair]
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw ResponseError.manifest(file: path, reason: "\(error)")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p) }
        var seen = Set<String>()
        return try file.pairs.enumerated().map { n, p in
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
            guard !p.id.isEmpty, !p.id.hasPrefix("."), p.id.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
                throw ResponseError.manifest(
                    file: path, reason: "pair \(n + 1): id '\(p.id)' must be letters, digits, '.', '_' or '-'")
            }
            guard seen.insert(p.id).inserted else {
                throw ResponseError.manifest(file: path, reason: "pair \(n + 1): id '\(p.id)' is used twice")
            }
            return Entry(
                id: p.id, baseline: resolve(p.baseline), followUp: resolve(p.follow_up),
                baselineLiverMasks: (p.baseline_liver_masks ?? []).map(resolve),
                baselineLesionMasks: (p.baseline_lesion_masks ?? []).map(resolve),
                followUpLiverMasks: (p.follow_up_liver_masks ?? []).map(resolve),
                followUpLesionMasks: (p.follow_up_lesion_masks ?? []).map(resolve), baselineSeries: p.baseline_series,
                followUpSeries: p.follow_up_series)
        }
    }

    /// Compares every pair; `classify` names an error's class (the CLI's exit classes).
    public static func run(
        _ entries: [Entry], out: String, singlePhase: Bool, classify: (any Error) -> String,
        progress: (Row) -> Void = { _ in }
    ) throws -> [Row] {
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw ResponseError.manifest(file: out, reason: "cannot create the output folder: \(error)")
        }
        var rows: [Row] = []
        for e in entries {
            let tmp = out + "/.tmp-\(e.id)-\(getpid())", final = out + "/" + e.id
            var row = Row(id: e.id)
            do {
                try? FileManager.default.removeItem(atPath: tmp)
                try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
                let b = try Side.load(
                    name: "baseline", path: e.baseline, liverMasks: e.baselineLiverMasks.map(MaskSpec.init),
                    lesionMasks: e.baselineLesionMasks.map(MaskSpec.init), series: e.baselineSeries,
                    singlePhase: singlePhase)
                let f = try Side.load(
                    name: "follow-up", path: e.followUp, liverMasks: e.followUpLiverMasks.map(MaskSpec.init),
                    lesionMasks: e.followUpLesionMasks.map(MaskSpec.init), series: e.followUpSeries,
                    singlePhase: singlePhase)
                var c = try Comparison.compare(b, f)
                try write(&c, baseline: b, followUp: f, to: tmp)
                try? FileManager.default.removeItem(atPath: final)
                try FileManager.default.moveItem(atPath: tmp, toPath: final)
                row.comparison = c
            } catch {
                try? FileManager.default.removeItem(atPath: tmp)
                row.errorClass = classify(error)
                row.error = "\(error)"
            }
            progress(row)
            rows.append(row)
        }
        try writeAtomically(Data(csv(rows).utf8), to: out + "/summary.csv")
        return rows
    }

    /// compare.png (when both sides have a CT) and compare.json into `folder`.
    public static func write(_ c: inout Comparison, baseline b: Side, followUp f: Side, to folder: String) throws {
        if let picture = try ComparisonPicture.render(c, baseline: b, followUp: f) {
            let png = try PNGFile.encode(
                picture,
                text: [
                    ("htb:version", htbVersion), ("htb:response", c.response.category),
                    ("htb:baseline_study_uid", c.baseline.studyUID), ("htb:follow_up_study_uid", c.followUp.studyUID),
                ])
            try writeAtomically(png, to: folder + "/compare.png")
            c.picture = "compare.png"
        }
        try writeAtomically(try c.json(), to: folder + "/compare.json")
    }

    public static let columns = [
        "id", "status", "error_class", "error_message", "response", "tumour_change_percent", "htb_change_points",
        "baseline_lesion_ml", "follow_up_lesion_ml", "new_lesions", "gone_lesions", "liver_dice", "warnings",
    ]

    public static func csv(_ rows: [Row]) -> String {
        var out = columns.joined(separator: ",") + "\n"
        for r in rows {
            let c = r.comparison
            let f = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
            let values: [String] = [
                r.id, c == nil ? "failed" : "ok", r.errorClass ?? "", r.error ?? "", c?.response.category ?? "",
                f(c?.totals.tumourVolumeChangePercent), f(c?.totals.htbChangePoints), f(c?.baseline.lesionVolumeML),
                f(c?.followUp.lesionVolumeML), c.map { "\($0.totals.newLesions)" } ?? "",
                c.map { "\($0.totals.goneLesions)" } ?? "", f(c?.alignment.liverDice),
                c?.warnings.joined(separator: "; ") ?? "",
            ]
            out += values.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }
}
