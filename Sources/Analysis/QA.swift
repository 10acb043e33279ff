import AutoSegmentation
import DicomIO
import Evaluation
import Foundation
import Seeding
import VolumeModel
import Volumetry

/// One QA case: a study, the expert's masks and the masks to judge (none: htb's automatic ones).
public struct QACase: Sendable {
    public var name: String
    public var studyPath: String
    public var series: String?
    public var truthLiver: [MaskSpec]
    public var truthLesions: [MaskSpec]
    public var predictedLiver: [MaskSpec]
    public var predictedLesions: [MaskSpec]
    /// Automatic stages switched off (ablation studies; empty: the method as `analyze` runs it).
    public var without: Set<AutoSegmentation.Stage> = []
    /// Judge one click per lesion: a seed at each truth lesion's deepest point, grown inside the
    /// judged liver (given, else automatic); the lesions are the grown ones alone.
    public var seedsFromTruth = false
    /// Look at the measured series alone: no other phase of the session (for the automatic
    /// liver's phase check, and for the seeds).
    public var singlePhase = false
    public init(
        name: String, studyPath: String, series: String? = nil, truthLiver: [MaskSpec], truthLesions: [MaskSpec],
        predictedLiver: [MaskSpec], predictedLesions: [MaskSpec]
    ) {
        self.name = name
        self.studyPath = studyPath
        self.series = series
        self.truthLiver = truthLiver
        self.truthLesions = truthLesions
        self.predictedLiver = predictedLiver
        self.predictedLesions = predictedLesions
    }
}

/// How far the judged masks are from the expert's, on one study.
public struct QAResult: Codable, Sendable {
    public var name: String
    public var series: String
    /// "automatic" (htb segmented), "given" (--pred-* masks), or which part was automatic.
    public var predictedSource: String
    /// Wall time of the automatic segmentation, when it ran.
    public var segmentationSeconds: Double?
    /// Whole liver (liver united with lesions), as volumetry measures it.
    public var liver: OverlapMetrics
    public var lesions: OverlapMetrics
    public var detection: DetectionMetrics
    public var detection10mm: DetectionMetrics
    public var htbPredictedPercent: Double
    public var htbTruthPercent: Double
    public var htbAbsoluteErrorPoints: Double
    public var categoryPredicted: String
    public var categoryTruth: String
    public var categoryAgrees: Bool
    /// What the automatic segmentation measured and chose, when it ran.
    public var automatic: AutoSegmentation.Info?
    /// With seeds from the truth: each truth lesion against the lesion grown from its seed.
    public var seeded: [SeededLesionQA]?
    /// Wall time of growing all the seeds (after loading).
    public var seedingSeconds: Double?
    /// With seeds from the truth: the session's other phases looked at (resampled onto the grid).
    public var phases: [PhaseInput]?

    enum CodingKeys: String, CodingKey {
        case name, series, predictedSource = "predicted_source", segmentationSeconds = "segmentation_seconds", liver,
            lesions, detection, detection10mm = "detection_10mm"
        case htbPredictedPercent = "htb_predicted_percent", htbTruthPercent = "htb_truth_percent"
        case htbAbsoluteErrorPoints = "htb_absolute_error_points", categoryPredicted = "category_predicted"
        case categoryTruth = "category_truth", categoryAgrees = "category_agrees", automatic, seeded
        case seedingSeconds = "seeding_seconds", phases
    }
}

/// One truth lesion and the lesion grown from a seed at its deepest point.
public struct SeededLesionQA: Codable, Sendable {
    public var outcome: SeedOutcome
    public var truthVolumeML: Double
    public var grownVolumeML: Double
    /// Dice of the grown lesion against this truth lesion alone.
    public var dice: Double

    enum CodingKeys: String, CodingKey {
        case outcome, dice
        case truthVolumeML = "truth_volume_ml", grownVolumeML = "grown_volume_ml"
    }
}

/// Thresholds that turn QA into a gate for a pipeline's CI.
public struct QAGates: Sendable {
    public var minLiverDice: Double?
    public var minLesionDice: Double?
    /// Lesion Dice is gated only where the truth holds at least this volume (mL).
    public var lesionDiceMinTruthML: Double = 5
    public var maxHTBErrorPoints: Double?
    public var minLesionRecall: Double?
    public var requireCategoryAgreement = false
    public init() {}

    /// Failed gates of one case, in words.
    public func failures(_ r: QAResult) -> [String] {
        var out: [String] = []
        if let m = minLiverDice, r.liver.dice < m {
            out.append(String(format: "liver Dice %.3f < %.3f", r.liver.dice, m))
        }
        if let m = minLesionDice, r.lesions.truthVolumeML >= lesionDiceMinTruthML, r.lesions.dice < m {
            out.append(String(format: "lesion Dice %.3f < %.3f", r.lesions.dice, m))
        }
        if let m = maxHTBErrorPoints, r.htbAbsoluteErrorPoints > m {
            out.append(String(format: "HTB error %.2f > %.2f points", r.htbAbsoluteErrorPoints, m))
        }
        if let m = minLesionRecall, let rec = r.detection.recall, rec < m {
            out.append(String(format: "lesion recall %.2f < %.2f", rec, m))
        }
        if requireCategoryAgreement && !r.categoryAgrees {
            out.append("category \(r.categoryPredicted) != \(r.categoryTruth)")
        }
        return out
    }
}

public enum QualityAssurance {
    /// Loads the study once (series chosen by the truth masks), lays both mask sets on its grid
    /// and compares them.
    public static func evaluate(_ c: QACase) throws -> QAResult {
        guard !c.truthLiver.isEmpty, !c.truthLesions.isEmpty else {
            throw AnalysisError.masksRequired("qa needs --truth-liver and --truth-lesion")
        }
        let inventory = try Inventory.scan(c.studyPath)
        let truthLiver = try c.truthLiver.map { ($0, try LoadedMask.load($0)) },
            truthLesions = try c.truthLesions.map { ($0, try LoadedMask.load($0)) }
        let predLiver = try c.predictedLiver.map { ($0, try LoadedMask.load($0)) },
            predLesions = try c.predictedLesions.map { ($0, try LoadedMask.load($0)) }
        let choice = try SeriesChooser.choose(
            in: inventory, selector: c.series, masks: (truthLiver + truthLesions).map(\.1))
        let ct = try SeriesLoader.loadCT(choice.entry)
        let (tl, _, _) = try Analysis.unite(truthLiver, ct: ct), (tt, _, _) = try Analysis.unite(truthLesions, ct: ct)
        var (pl, _, _) = try Analysis.unite(predLiver, ct: ct), (pt, _, _) = try Analysis.unite(predLesions, ct: ct)
        // Judged masks not given are htb's own, made as `analyze` makes them.
        let source =
            switch (predLiver.isEmpty, predLesions.isEmpty, c.seedsFromTruth) {
            case (true, _, true): "automatic liver, lesions seeded from the truth"
            case (false, _, true): "given liver, lesions seeded from the truth"
            case (true, true, _): "automatic"
            case (true, false, _): "automatic liver, given lesions"
            case (false, true, _): "given liver, automatic lesions"
            case (false, false, _): "given"
            }
        var seconds: Double?, info: AutoSegmentation.Info?
        if predLiver.isEmpty || (predLesions.isEmpty && !c.seedsFromTruth) {
            // The review as analyze gives it: an automatic liver is checked against the session's other phases.
            let auto = try Analysis.segmentAutomatically(
                ct, liver: predLiver.isEmpty ? nil : pl, study: c.studyPath, without: c.without, chosen: choice.entry,
                inventory: inventory, singlePhase: c.singlePhase)
            // Seeds grow within the whole automatic liver (its lesions are liver to them).
            if predLiver.isEmpty { pl = c.seedsFromTruth ? auto.liver.union(auto.lesions) : auto.liver }
            if predLesions.isEmpty { pt = auto.lesions }
            seconds = auto.info.seconds
            info = auto.info
        }
        let truth = try Volumetry.measure(liver: tl, lesions: tt)
        var seeded: [SeededLesionQA]?, seedingSeconds: Double?, phases: [PhaseInput]?
        if c.seedsFromTruth {
            let truthParts = truth.components.voxels
            let seeds = DeepestPoints.seeds(of: truth.components)
            let images: [SeededGrowth.Phase]
            (images, phases) = Analysis.siblingImages(
                chosen: choice.entry, ct: ct.volume, liver: pl, inventory: inventory, singlePhase: c.singlePhase)
            let start = Date()
            let grown = try SeededGrowth.grow(ct: ct.volume, liver: pl, seeds: seeds, phases: images)
            seedingSeconds = Date().timeIntervalSince(start)
            pt = grown.lesions
            seeded = zip(grown.outcomes, zip(grown.voxels, truthParts)).map { outcome, pair in
                let (mine, truthVoxels) = pair
                let inTruth = Set(truthVoxels)
                let common = mine.reduce(0) { $0 + (inTruth.contains($1) ? 1 : 0) }
                let v = ct.volume.geometry.voxelVolumeMM3 / 1000
                return SeededLesionQA(
                    outcome: outcome, truthVolumeML: Double(truthVoxels.count) * v,
                    grownVolumeML: Double(mine.count) * v,
                    dice: 2 * Double(common) / Double(max(1, mine.count + truthVoxels.count)))
            }
        }
        let pred = try Volumetry.measure(liver: pl, lesions: pt)
        let g = ct.volume.geometry
        var result = QAResult(
            name: c.name, series: choice.entry.key, predictedSource: source, segmentationSeconds: seconds,
            liver: try Metrics.overlap(predicted: pl.union(pt), truth: tl.union(tt)),
            lesions: try Metrics.overlap(predicted: pt, truth: tt),
            detection: DetectionMetrics.compute(predicted: pred.components, truth: truth.components, geometry: g),
            detection10mm: DetectionMetrics.compute(
                predicted: pred.components, truth: truth.components, geometry: g, minimumDiameterMM: 10),
            htbPredictedPercent: pred.htbPercent, htbTruthPercent: truth.htbPercent,
            htbAbsoluteErrorPoints: abs(pred.htbPercent - truth.htbPercent),
            categoryPredicted: pred.category.rawValue, categoryTruth: truth.category.rawValue,
            categoryAgrees: pred.category == truth.category, automatic: info)
        result.seeded = seeded
        result.seedingSeconds = seedingSeconds
        result.phases = phases
        return result
    }

    /// Cases from a manifest: `{"cases": [{"name", "study", "series"?, "truth_liver": [...],
    /// "truth_lesions": [...], "pred_liver": [...], "pred_lesions": [...]}]}`, paths relative to it.
    public static func manifest(_ path: String) throws -> [QACase] {
        struct File: Decodable {
            struct Case: Decodable {
                var name: String?, study: String, series: String?
                var truth_liver: [String], truth_lesions: [String]
                var pred_liver: [String]?, pred_lesions: [String]?
            }
            var cases: [Case]
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw DicomError.pathNotFound(path) }
        let f: File
        do { f = try JSONDecoder().decode(File.self, from: data) } catch {
            throw AnalysisError.masksRequired("\(path): invalid QA manifest: \(error)")
        }
        let base = (path as NSString).deletingLastPathComponent
        func r(_ p: String) -> String { p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p) }
        return f.cases.map { c in
            QACase(
                name: c.name ?? c.study, studyPath: r(c.study), series: c.series,
                truthLiver: c.truth_liver.map { MaskSpec(r($0)) },
                truthLesions: c.truth_lesions.map { MaskSpec(r($0)) },
                predictedLiver: (c.pred_liver ?? []).map { MaskSpec(r($0)) },
                predictedLesions: (c.pred_lesions ?? []).map { MaskSpec(r($0)) })
        }
    }

    /// One CSV row a case.
    public static func csv(_ results: [QAResult]) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "" }
        var out =
            "case,series,liver_dice,liver_jaccard,liver_rvd,liver_assd_mm,liver_hd95_mm,lesion_dice,lesion_jaccard,lesion_rvd,lesion_assd_mm,lesion_hd95_mm,"
            + "lesion_recall,lesion_precision,lesion_f1,lesion_recall_10mm,lesion_precision_10mm,lesion_f1_10mm,htb_pred,htb_truth,htb_abs_error,category_pred,category_truth,category_agrees,predicted_source,segmentation_seconds,"
            + "automatic_review_needed,review_reasons\n"
        for r in results {
            let cells: [String] = [
                r.name.contains(",") ? "\"\(r.name)\"" : r.name, r.series,
                f(r.liver.dice), f(r.liver.jaccard), f(r.liver.relativeVolumeDifference),
                f(r.liver.averageSymmetricSurfaceDistanceMM), f(r.liver.hausdorff95MM),
                f(r.lesions.dice), f(r.lesions.jaccard), f(r.lesions.relativeVolumeDifference),
                f(r.lesions.averageSymmetricSurfaceDistanceMM), f(r.lesions.hausdorff95MM),
                f(r.detection.recall), f(r.detection.precision), f(r.detection.f1), f(r.detection10mm.recall),
                f(r.detection10mm.precision), f(r.detection10mm.f1),
                f(r.htbPredictedPercent), f(r.htbTruthPercent), f(r.htbAbsoluteErrorPoints), r.categoryPredicted,
                r.categoryTruth, r.categoryAgrees ? "yes" : "no",
                r.predictedSource.contains(",") ? "\"\(r.predictedSource)\"" : r.predictedSource,
                f(r.segmentationSeconds),
                r.automatic?.reviewNeeded.map { $0 ? "yes" : "no" } ?? "",
                (r.automatic?.reviewReasons ?? []).map(\.code).joined(separator: ";"),
            ]
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }
}
