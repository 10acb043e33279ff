import Foundation
import VolumeModel
import Volumetry

/// Baseline against follow-up, lesion by lesion: `htb compare`'s result (schema `htb.compare/1`).
///
/// Thresholds (`thresholds` in the output): the review's volumetric equivalents of RECIST 1.1
/// (../shared/GUIDELINES.md): a decrease of 65 % or more ~ partial response, an increase of 73 %
/// or more ~ progression; they are RECIST's -30 % and +20 % in diameter taken to a sphere's
/// volume (1 - 0.7^3 = 65.7 %, 1.2^3 - 1 = 72.8 %). The same thresholds classify each lesion.
public struct Comparison: Codable, Sendable {
    public var schema = "htb.compare/1"
    public var baseline: SideSummary
    public var followUp: SideSummary
    public var alignment: AlignmentSummary
    public var lesions: [LesionChange]
    public var totals: Totals
    public var response: Response
    public var thresholds: Thresholds
    public var warnings: [String]
    /// The side-by-side picture's file name (in the output folder), when both sides had a CT.
    public var picture: String?

    public struct SideSummary: Codable, Sendable {
        public var source: String
        public var kind: String
        public var studyUID: String
        public var seriesUID: String
        public var studyDate: String?
        public var maskSources: [String]
        public var liverVolumeML: Double
        public var lesionVolumeML: Double
        public var htbPercent: Double
        public var lesionCount: Int
        enum CodingKeys: String, CodingKey {
            case source, kind
            case studyUID = "study_uid"
            case seriesUID = "series_uid"
            case studyDate = "study_date"
            case maskSources = "mask_sources"
            case liverVolumeML = "liver_volume_ml"
            case lesionVolumeML = "lesion_volume_ml"
            case htbPercent = "htb_percent"
            case lesionCount = "lesion_count"
        }
    }

    public struct AlignmentSummary: Codable, Sendable {
        public var model = "translation"
        public var translationMM: Vector3
        public var liverDice: Double
        public var liverDiceUnaligned: Double
        enum CodingKeys: String, CodingKey {
            case model
            case translationMM = "translation_mm"
            case liverDice = "liver_dice"
            case liverDiceUnaligned = "liver_dice_unaligned"
        }
    }

    public struct LesionChange: Codable, Sendable {
        /// Comparison id: 1, 2, ... in order of the larger of the two volumes.
        public var id: Int
        /// The lesion's ids in each side's own numbering (largest = 1); empty where absent. Two or
        /// more on one side: a lesion that split or lesions that merged, compared as one (RECIST 1.1
        /// sums the fragments of a split lesion).
        public var baselineIDs: [Int]
        public var followUpIDs: [Int]
        public var baselineVolumeML: Double
        public var followUpVolumeML: Double
        /// Percent of the baseline volume; nil for a new lesion.
        public var changePercent: Double?
        /// `stable`, `shrinking`, `growing`, `new` or `gone`.
        public var status: String
        /// How the pair was made: `overlap` (voxels shared after alignment) or `distance`.
        public var matchedBy: String?
        /// Follow-up position (mm, LPS) of the lesion's centroid; the baseline's moved by the
        /// alignment for a lesion that is gone.
        public var centroidMM: Vector3
        /// Longest axial diameter (mm) at follow-up (at baseline for a lesion that is gone); the
        /// largest of a group's lesions.
        public var longestAxialDiameterMM: Double
        /// A new lesion only, when both CTs were read: its median HU minus the parenchyma's at
        /// follow-up, and the same at the aligned place in the baseline CT (`seenAtBaseline`).
        public var followUpContrastHU: Double?
        public var baselineContrastHU: Double?
        /// A new lesion the baseline CT already shows (see `seenAtBaseline`): listed as new (its
        /// masks have it only at follow-up) but not counted for progression.
        public var seenAtBaseline: Bool?
        enum CodingKeys: String, CodingKey {
            case id
            case baselineIDs = "baseline_ids"
            case followUpIDs = "follow_up_ids"
            case baselineVolumeML = "baseline_volume_ml"
            case followUpVolumeML = "follow_up_volume_ml"
            case changePercent = "change_percent"
            case status
            case matchedBy = "matched_by"
            case centroidMM = "centroid_mm"
            case longestAxialDiameterMM = "longest_axial_diameter_mm"
            case followUpContrastHU = "follow_up_contrast_hu"
            case baselineContrastHU = "baseline_contrast_hu"
            case seenAtBaseline = "seen_at_baseline"
        }
    }

    public struct Totals: Codable, Sendable {
        public var tumourVolumeChangePercent: Double?
        public var tumourVolumeChangeML: Double
        public var htbChangePoints: Double
        public var liverVolumeChangePercent: Double
        public var newLesions: Int
        public var goneLesions: Int
        enum CodingKeys: String, CodingKey {
            case tumourVolumeChangePercent = "tumour_volume_change_percent"
            case tumourVolumeChangeML = "tumour_volume_change_ml"
            case htbChangePoints = "htb_change_points"
            case liverVolumeChangePercent = "liver_volume_change_percent"
            case newLesions = "new_lesions"
            case goneLesions = "gone_lesions"
        }
    }

    public struct Response: Codable, Sendable {
        /// `complete`, `partial`, `stable`, `progression`, or `no_disease` (no lesion at either time).
        public var category: String
        public var reason: String
    }

    public struct Thresholds: Codable, Sendable {
        public var partialDecreasePercent = Comparison.partialDecreasePercent
        public var progressionIncreasePercent = Comparison.progressionIncreasePercent
        public var source =
            "volumetric equivalents of RECIST 1.1 (-30 % / +20 % in diameter as sphere volumes), as the review states them (../shared/GUIDELINES.md)"
        enum CodingKeys: String, CodingKey {
            case partialDecreasePercent = "partial_decrease_percent"
            case progressionIncreasePercent = "progression_increase_percent"
            case source
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, baseline
        case followUp = "follow_up"
        case alignment, lesions, totals, response, thresholds, warnings, picture
    }

    public static let partialDecreasePercent = 65.0
    public static let progressionIncreasePercent = 73.0
    /// Lesions that share no voxel after alignment still pair when their centroids lie within the
    /// larger of this and the sum of their equivalent-sphere radii (two such spheres would touch).
    public static let matchDistanceMM = 10.0
    /// A new lesion counts for progression from this longest axial diameter: RECIST 1.1's smallest
    /// measurable lesion on CT (10 mm), so that a speck at the segmentation's noise level is listed
    /// as new but does not decide the response (mRECIST likewise asks >= 1 cm for a new lesion).
    public static let measurableNewLesionMM = 10.0
    /// A lesion is new when the baseline did not show it (RECIST 1.1: an unequivocal new
    /// lesion). A follow-up lesion without a baseline partner whose aligned place in the baseline
    /// CT differs from the baseline's parenchyma by at least this share of its own contrast at
    /// follow-up, in the same direction, was there already: a lesion the baseline's masks missed,
    /// or tissue both automatic segmentations would read alike (a neighbour taken into the
    /// liver, a vessel's partial volume). With automatic masks such findings made false
    /// progressions (docs/response.md).
    public static let seenAtBaselineShare = 0.5
    /// ... and by at least this many standard errors of a median of as many voxels of the
    /// baseline's parenchyma (1.2533 robust SD / sqrt n): a small region's median moves with the
    /// noise (a 7-voxel one by about 6 HU at 12 HU of noise), so a weak new lesion is not called
    /// seen on noise alone.
    public static let seenAtBaselineStandardErrors = 2.0

    /// Compares two time points: aligns the livers, pairs the lesions one to one (overlap first,
    /// then distance), classifies each and the whole.
    public static func compare(_ b: Side, _ f: Side) throws -> Comparison {
        guard b.liver.insideCount > 0 else { throw ResponseError.noLiver(side: b.name) }
        guard f.liver.insideCount > 0 else { throw ResponseError.noLiver(side: f.name) }
        var warnings: [String] = []
        if let pb = b.patientID, let pf = f.patientID, pb != pf {
            throw ResponseError.differentPatients(baseline: pb, followUp: pf)
        }
        if b.patientID == nil || f.patientID == nil {
            let s = b.patientID == nil ? b : f
            warnings.append(
                "patient identity not checked: the \(s.name) gives no Patient ID\(s.kind == "output" ? " (an htb analyze output folder does not keep it, and its study was not found: \(s.ctNote ?? "-"))" : "")"
            )
        }
        if let db = b.studyDate, let df = f.studyDate {
            if df < db {
                warnings.append(
                    "the follow-up (Study Date \(df)) is older than the baseline (\(db)): the order of the arguments may be swapped"
                )
            } else if df == db && b.studyUID != f.studyUID {
                warnings.append("both studies were made on \(db): a response needs time between them")
            }
        }
        if b.studyUID == f.studyUID {
            warnings.append("both sides are the same study (\(b.studyUID)): a response needs two studies")
        }
        let alignment = Alignment.estimate(baseline: b.liver, followUp: f.liver)
        let mb = try b.measured()
        let mf = try f.measured()
        let t = alignment.translationMM

        // Overlap: every baseline lesion voxel moved into the follow-up grid votes for the
        // follow-up lesion it lands in.
        let labels = mf.components.labels
        let gf = f.liver.geometry, df = gf.dims, gb = b.liver.geometry, db = gb.dims
        var shared: [Int: [Int: Int]] = [:]
        for (n, voxels) in mb.components.voxels.enumerated() {
            for v in voxels {
                let p = gb.positionMM(Double(v % db.x), Double((v / db.x) % db.y), Double(v / db.sliceCount)) + t
                let x = gf.index(of: p)
                let i = Int(x.x.rounded()), j = Int(x.y.rounded()), k = Int(x.z.rounded())
                guard i >= 0, j >= 0, k >= 0, i < df.x, j < df.y, k < df.z else { continue }
                let l = Int(labels.voxels[i + df.x * (j + df.y * k)])
                if l > 0 { shared[n + 1, default: [:]][l, default: 0] += 1 }
            }
        }
        // Groups: lesions linked by shared voxels (a lesion that split, lesions that merged) are
        // one; most groups are one lesion at each time.
        var parentB = Array(0...mb.lesions.count)
        func rootB(_ x: Int) -> Int { parentB[x] == x ? x : rootB(parentB[x]) }
        var groupOfF: [Int: Int] = [:]  // follow-up lesion -> a baseline lesion of its group
        for (bl, m) in shared.sorted(by: { $0.key < $1.key }) {
            for fl in m.keys.sorted() {
                if let other = groupOfF[fl] {
                    let (x, y) = (rootB(other), rootB(bl))
                    if x != y { parentB[max(x, y)] = min(x, y) }
                } else {
                    groupOfF[fl] = bl
                }
            }
        }
        var groups: [Int: (b: [Int], f: [Int])] = [:]
        for (bl, _) in shared { groups[rootB(bl), default: ([], [])].b.append(bl) }
        for (fl, bl) in groupOfF { groups[rootB(bl), default: ([], [])].f.append(fl) }
        var matches: [(b: [Int], f: [Int], by: String)] = groups.values.map {
            ($0.b.sorted(), $0.f.sorted(), "overlap")
        }
        let usedB = Set(matches.flatMap(\.b)), usedF = Set(matches.flatMap(\.f))
        // Distance: what shares no voxel pairs one to one, nearest first.
        func radius(_ ml: Double) -> Double { cbrt(3 * ml * 1000 / (4 * Double.pi)) }
        var byDistance: [(Double, Int, Int)] = []
        for lb in mb.lesions where !usedB.contains(lb.id) {
            for lf in mf.lesions where !usedF.contains(lf.id) {
                let d = (lb.centroidMM + t - lf.centroidMM).length
                if d <= max(matchDistanceMM, radius(lb.volumeML) + radius(lf.volumeML)) {
                    byDistance.append((d, lb.id, lf.id))
                }
            }
        }
        var pairedB = usedB, pairedF = usedF
        for (_, bl, fl) in byDistance.sorted(by: { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) })
        where !pairedB.contains(bl) && !pairedF.contains(fl) {
            matches.append(([bl], [fl], "distance"))
            pairedB.insert(bl)
            pairedF.insert(fl)
        }

        var changes: [LesionChange] = []
        func volume(_ ids: [Int], _ m: VolumetryResult) -> Double { ids.reduce(0) { $0 + m.lesions[$1 - 1].volumeML } }
        func centroid(_ ids: [Int], _ m: VolumetryResult) -> Vector3 {
            let v = volume(ids, m)
            return ids.reduce(Vector3(0, 0, 0)) { $0 + m.lesions[$1 - 1].centroidMM * (m.lesions[$1 - 1].volumeML / v) }
        }
        for p in matches {
            let vb = volume(p.b, mb), vf = volume(p.f, mf)
            let change = 100 * (vf - vb) / vb
            changes.append(
                LesionChange(
                    id: 0, baselineIDs: p.b, followUpIDs: p.f, baselineVolumeML: vb, followUpVolumeML: vf,
                    changePercent: change, status: status(change), matchedBy: p.by, centroidMM: centroid(p.f, mf),
                    longestAxialDiameterMM: p.f.map { mf.lesions[$0 - 1].diameters.longestMM }.max() ?? 0))
        }
        for lb in mb.lesions where !pairedB.contains(lb.id) {
            changes.append(
                LesionChange(
                    id: 0, baselineIDs: [lb.id], followUpIDs: [], baselineVolumeML: lb.volumeML, followUpVolumeML: 0,
                    changePercent: -100, status: "gone", matchedBy: nil, centroidMM: lb.centroidMM + t,
                    longestAxialDiameterMM: lb.diameters.longestMM))
        }
        for lf in mf.lesions where !pairedF.contains(lf.id) {
            changes.append(
                LesionChange(
                    id: 0, baselineIDs: [], followUpIDs: [lf.id], baselineVolumeML: 0, followUpVolumeML: lf.volumeML,
                    changePercent: nil, status: "new", matchedBy: nil, centroidMM: lf.centroidMM,
                    longestAxialDiameterMM: lf.diameters.longestMM))
        }
        changes.sort {
            let a = max($0.baselineVolumeML, $0.followUpVolumeML), c = max($1.baselineVolumeML, $1.followUpVolumeML)
            return a != c
                ? a > c
                : ($0.baselineIDs.first ?? .max, $0.followUpIDs.first ?? .max)
                    < ($1.baselineIDs.first ?? .max, $1.followUpIDs.first ?? .max)
        }
        for i in changes.indices { changes[i].id = i + 1 }

        if let cb = b.ct, let cf = f.ct {
            markSeenAtBaseline(
                &changes, baseline: b, baselineCT: cb, followUp: f, followUpCT: cf, measured: mf, shift: t)
        }
        let newCount = changes.filter { $0.status == "new" }.count
        let goneCount = changes.filter { $0.status == "gone" }.count
        let totalChange =
            mb.lesionVolumeML > 0 ? 100 * (mf.lesionVolumeML - mb.lesionVolumeML) / mb.lesionVolumeML : nil
        let unseen = changes.filter { $0.status == "new" && $0.seenAtBaseline != true }
        let measurableNew = unseen.filter { $0.longestAxialDiameterMM >= measurableNewLesionMM }.count
        var response = category(
            baselineML: mb.lesionVolumeML, followUpML: mf.lesionVolumeML, changePercent: totalChange,
            newLesions: measurableNew, smallNewLesions: unseen.count - measurableNew)
        let seen = newCount - unseen.count
        if seen > 0 && response.category != "progression" {
            response.reason +=
                "; \(seen) lesion\(seen == 1 ? "" : "s") new in the follow-up's masks already show\(seen == 1 ? "s" : "") at baseline, not counted as new"
        }
        func summary(_ s: Side, _ m: VolumetryResult) -> SideSummary {
            SideSummary(
                source: s.source, kind: s.kind, studyUID: s.studyUID, seriesUID: s.seriesUID, studyDate: s.studyDate,
                maskSources: s.maskSources, liverVolumeML: m.liverVolumeML, lesionVolumeML: m.lesionVolumeML,
                htbPercent: m.htbPercent, lesionCount: m.lesions.count)
        }
        if alignment.liverDice < 0.7 {
            warnings.append(
                String(
                    format:
                        "the two livers overlap poorly after alignment (Dice %.2f): lesion matching may be wrong; check the masks and that both studies show the whole liver",
                    alignment.liverDice))
        }
        return Comparison(
            baseline: summary(b, mb), followUp: summary(f, mf),
            alignment: AlignmentSummary(
                translationMM: t, liverDice: alignment.liverDice, liverDiceUnaligned: alignment.liverDiceUnaligned),
            lesions: changes,
            totals: Totals(
                tumourVolumeChangePercent: totalChange, tumourVolumeChangeML: mf.lesionVolumeML - mb.lesionVolumeML,
                htbChangePoints: mf.htbPercent - mb.htbPercent,
                liverVolumeChangePercent: 100 * (mf.liverVolumeML - mb.liverVolumeML) / mb.liverVolumeML,
                newLesions: newCount, goneLesions: goneCount),
            response: response, thresholds: Thresholds(), warnings: warnings)
    }

    /// Sets the contrasts and `seenAtBaseline` of each new lesion: its follow-up voxels, moved by
    /// the alignment into the baseline CT, against each side's parenchyma (the median of the
    /// liver outside the lesions; the baseline's robust SD gives the standard error).
    static func markSeenAtBaseline(
        _ changes: inout [LesionChange], baseline b: Side, baselineCT cb: CTVolume, followUp f: Side,
        followUpCT cf: CTVolume, measured mf: VolumetryResult, shift t: Vector3
    ) {
        guard cb.geometry.dims == b.liver.dims, cf.geometry.dims == f.liver.dims,
            let (pb, sdb) = parenchymaHU(cb, where: { b.liver.voxels[$0] != 0 && b.lesions.voxels[$0] == 0 }),
            let (pf, _) = parenchymaHU(cf, where: { f.liver.voxels[$0] != 0 && f.lesions.voxels[$0] == 0 })
        else { return }
        let gb = cb.geometry, db = gb.dims, gf = cf.geometry, df = gf.dims
        for n in changes.indices where changes[n].status == "new" {
            let voxels = changes[n].followUpIDs.flatMap { mf.components.voxels[$0 - 1] }
            var mapped = Set<Int>()
            for v in voxels {
                let x = gb.index(
                    of: gf.positionMM(Double(v % df.x), Double((v / df.x) % df.y), Double(v / df.sliceCount)) - t)
                let i = Int(x.x.rounded()), j = Int(x.y.rounded()), k = Int(x.z.rounded())
                guard i >= 0, j >= 0, k >= 0, i < db.x, j < db.y, k < db.z else { continue }
                mapped.insert(i + db.x * (j + db.y * k))
            }
            // Half of it must lie in the baseline's field of view to judge it.
            guard 2 * mapped.count >= voxels.count, let lf = medianHU(cf, voxels), let lb = medianHU(cb, Array(mapped))
            else { continue }
            let (contrastF, contrastB) = (lf - pf, lb - pb)
            changes[n].followUpContrastHU = contrastF
            changes[n].baselineContrastHU = contrastB
            let standardError = 1.2533 * sdb / Double(mapped.count).squareRoot()
            changes[n].seenAtBaseline =
                contrastF * contrastB > 0 && abs(contrastB) >= seenAtBaselineShare * abs(contrastF)
                && abs(contrastB) >= seenAtBaselineStandardErrors * standardError
        }
    }

    /// The median HU of the listed voxels; nil when there are none.
    static func medianHU(_ ct: CTVolume, _ voxels: [Int]) -> Double? {
        guard !voxels.isEmpty else { return nil }
        let sorted = voxels.map { ct.voxels[$0] }.sorted()
        return Double(sorted[sorted.count / 2])
    }

    /// The median HU of the voxels passing `inside` and their robust SD (1.4826 x the median
    /// absolute deviation), from a histogram; nil when there are none.
    static func parenchymaHU(_ ct: CTVolume, where inside: (Int) -> Bool) -> (medianHU: Double, robustSDHU: Double)? {
        var counts = [Int](repeating: 0, count: 65536), total = 0
        for v in 0..<ct.voxels.count where inside(v) {
            counts[Int(ct.voxels[v]) + 32768] += 1
            total += 1
        }
        guard total > 0 else { return nil }
        func median(_ h: [Int]) -> Int {
            var seen = 0
            for (i, c) in h.enumerated() {
                seen += c
                if 2 * seen > total { return i }
            }
            return h.count - 1
        }
        let m = median(counts)
        var deviations = [Int](repeating: 0, count: 65536)
        for (i, c) in counts.enumerated() where c > 0 { deviations[abs(i - m)] += c }
        return (Double(m - 32768), 1.4826 * Double(median(deviations)))
    }

    /// A lesion's status from its volume change (percent of baseline).
    static func status(_ changePercent: Double) -> String {
        if changePercent <= -partialDecreasePercent { return "shrinking" }
        if changePercent >= progressionIncreasePercent { return "growing" }
        return "stable"
    }

    /// The volumetric response: complete (no lesion left), progression (>= 73 % more tumour or a
    /// new lesion of 10 mm or more), partial (>= 65 % less), stable otherwise; no_disease without
    /// lesions at either time.
    public static func category(
        baselineML: Double, followUpML: Double, changePercent: Double?, newLesions: Int, smallNewLesions: Int = 0
    ) -> Response {
        var r = categoryCounting(
            baselineML: baselineML, followUpML: followUpML, changePercent: changePercent, newLesions: newLesions)
        if smallNewLesions > 0 && r.category != "progression" {
            r.reason +=
                "; \(smallNewLesions) new lesion\(smallNewLesions == 1 ? "" : "s") below \(Int(measurableNewLesionMM)) mm not counted (RECIST 1.1 measurability)"
        }
        return r
    }

    static func categoryCounting(baselineML: Double, followUpML: Double, changePercent: Double?, newLesions: Int)
        -> Response
    {
        if baselineML == 0 && followUpML == 0 {
            return Response(category: "no_disease", reason: "no lesion at either time")
        }
        if followUpML == 0 {
            return Response(category: "complete", reason: "no lesion left at follow-up")
        }
        if newLesions > 0 {
            return Response(
                category: "progression",
                reason:
                    "\(newLesions) new lesion\(newLesions == 1 ? "" : "s") of \(Int(measurableNewLesionMM)) mm or more at follow-up"
            )
        }
        guard let c = changePercent else {
            return Response(category: "progression", reason: "tumour at follow-up where the baseline had none")
        }
        if c >= progressionIncreasePercent {
            return Response(
                category: "progression",
                reason: String(
                    format: "tumour volume %+.1f %% (progression from +%.0f %%)", c, progressionIncreasePercent))
        }
        if c <= -partialDecreasePercent {
            return Response(
                category: "partial",
                reason: String(
                    format: "tumour volume %+.1f %% (partial response from -%.0f %%)", c, partialDecreasePercent))
        }
        return Response(
            category: "stable",
            reason: String(
                format: "tumour volume %+.1f %% (between -%.0f %% and +%.0f %%)", c, partialDecreasePercent,
                progressionIncreasePercent))
    }

    /// One paragraph for the terminal.
    public var summaryText: String {
        let fmt = { (v: Double) in String(format: "%.1f", v) }
        var s =
            "Response: \(response.category.uppercased()) (\(response.reason)). Tumour \(fmt(baseline.lesionVolumeML)) -> \(fmt(followUp.lesionVolumeML)) mL"
        if let c = totals.tumourVolumeChangePercent { s += String(format: " (%+.1f %%)", c) }
        s +=
            String(
                format: ", HTB %.2f -> %.2f %% (%+.2f points), liver %.0f -> %.0f mL (%+.1f %%). ",
                baseline.htbPercent, followUp.htbPercent, totals.htbChangePoints, baseline.liverVolumeML,
                followUp.liverVolumeML, totals.liverVolumeChangePercent)
        let counts = ["stable", "shrinking", "growing", "new", "gone"].compactMap { st -> String? in
            let n = lesions.filter { $0.status == st }.count
            return n > 0 ? "\(n) \(st)" : nil
        }
        s += "Lesions: \(counts.isEmpty ? "none" : counts.joined(separator: ", ")). "
        let t = alignment.translationMM
        s += String(
            format: "Livers aligned by (%.1f, %.1f, %.1f) mm, Dice %.3f.", t.x, t.y, t.z, alignment.liverDice)
        return s
    }

    /// JSON as written to compare.json: snake_case keys, sorted, pretty.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}
