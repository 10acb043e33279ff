import Foundation
import Phantom

/// How far a comparison is from a phantom pair's truth (`htb qa --comparison COMPARE.json
/// --follow-up-truth LATER/truth.json`): the response category, the total tumour change, and, when
/// both sides were measured with the truth masks (lesion ids are then the truth's), the matching.
public struct ComparisonQA: Codable, Sendable {
    public var category: String
    public var truthCategory: String
    public var categoryAgrees: Bool
    public var tumourChangePercent: Double?
    public var truthTumourChangePercent: Double?
    public var tumourChangeErrorPoints: Double?
    /// `right`, `wrong`, or `not_judged` (a side measured with other masks: ids are not the truth's).
    public var matching: String
    public var matchingDetail: String

    enum CodingKeys: String, CodingKey {
        case category
        case truthCategory = "truth_category"
        case categoryAgrees = "category_agrees"
        case tumourChangePercent = "tumour_change_percent"
        case truthTumourChangePercent = "truth_tumour_change_percent"
        case tumourChangeErrorPoints = "tumour_change_error_points"
        case matching
        case matchingDetail = "matching_detail"
    }

    public static func judge(_ c: Comparison, truth t: PhantomTruth, truthMasks: Bool) throws -> ComparisonQA {
        guard let f = t.followUp else {
            throw ResponseError.manifest(
                file: "truth.json", reason: "not the truth of a follow-up (htb synth --follow-up-of writes one)")
        }
        let measurable = f.newLesions.filter {
            $0 - 1 < f.lesionLongestAxialDiametersMM.count
                && f.lesionLongestAxialDiametersMM[$0 - 1] >= Comparison.measurableNewLesionMM
        }
        let truthChange =
            f.baselineLesionVolumeML > 0
            ? 100 * (t.lesionVolumeML - f.baselineLesionVolumeML) / f.baselineLesionVolumeML : nil
        let truthCategory = Comparison.category(
            baselineML: f.baselineLesionVolumeML, followUpML: t.lesionVolumeML, changePercent: truthChange,
            newLesions: measurable.count
        ).category
        let change = c.totals.tumourVolumeChangePercent
        var matching = "not_judged"
        var detail = "a side was not measured with the truth masks, so its lesion ids are not the truth's"
        if truthMasks {
            let found = Set(
                c.lesions.filter { !$0.baselineIDs.isEmpty && !$0.followUpIDs.isEmpty }.map {
                    [$0.baselineIDs, $0.followUpIDs]
                })
            let expected = groups(f.pairs)
            let new = Set(c.lesions.filter { $0.status == "new" }.flatMap(\.followUpIDs))
            let gone = Set(c.lesions.filter { $0.status == "gone" }.flatMap(\.baselineIDs))
            let right = found == expected && new == Set(f.newLesions) && gone == Set(f.goneLesions)
            matching = right ? "right" : "wrong"
            detail =
                "\(found.count) groups found, \(expected.count) in the truth; new \(new.sorted()) against \(f.newLesions); gone \(gone.sorted()) against \(f.goneLesions)"
        }
        return ComparisonQA(
            category: c.response.category, truthCategory: truthCategory,
            categoryAgrees: c.response.category == truthCategory, tumourChangePercent: change,
            truthTumourChangePercent: truthChange,
            tumourChangeErrorPoints: zip2(change, truthChange).map { abs($0 - $1) }, matching: matching,
            matchingDetail: detail)
    }

    static func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
        guard let a, let b else { return nil }
        return (a, b)
    }

    /// Truth pairs as groups: lesions linked through pairs (a split or a merge) are one.
    public static func groups(_ pairs: [[Int]]) -> Set<[[Int]]> {
        var out: [(b: Set<Int>, f: Set<Int>)] = []
        for p in pairs {
            let hit = out.indices.filter { out[$0].b.contains(p[0]) || out[$0].f.contains(p[1]) }
            var merged: (b: Set<Int>, f: Set<Int>) = ([p[0]], [p[1]])
            for i in hit { merged = (merged.b.union(out[i].b), merged.f.union(out[i].f)) }
            out = out.enumerated().filter { !hit.contains($0.offset) }.map(\.element) + [merged]
        }
        return Set(out.map { [$0.b.sorted(), $0.f.sorted()] })
    }
}
