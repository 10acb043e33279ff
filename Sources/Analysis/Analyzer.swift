import AutoSegmentation
import DicomIO
import Foundation
import Guidelines
import NIfTI
import Seeding
import VolumeModel
import Volumetry

public enum AnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    case masksRequired(String)
    case segmentationFailed(study: String, reason: String)
    case noMatchingSeries(detail: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .masksRequired(let s): return s
        case .segmentationFailed(let s, let r): return "\(s): \(r)"
        case .noMatchingSeries(let d): return d
        case .cannotWrite(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}

/// The series htb measures and why it was chosen.
public struct SeriesChoice: Sendable {
    public var entry: SeriesEntry
    public var reason: String
}

public enum SeriesChooser {
    /// `--series` if given; else the series the masks belong to (a SEG's referenced series, or
    /// the series whose grid the masks match); else the axial CT series of the phase best suited to
    /// liver segmentation (portal venous, then no phase named, delayed, arterial, non-contrast,
    /// from the series description), then with the most slices.
    public static func choose(in inventory: Inventory, selector: String?, masks: [LoadedMask]) throws -> SeriesChoice {
        if let selector {
            let e = try inventory.select(selector)
            return SeriesChoice(entry: e, reason: "selected with --series \(selector)")
        }
        let ranked = try rankedCTs(
            in: inventory, excluding: masks.reduce(into: Set<String>()) { $0.formUnion($1.ownSeriesUIDs) })
        if !masks.isEmpty { return try matching(masks, among: ranked, root: inventory.root) }
        let e = ranked[0]
        let phase = e.phaseHint.map { "phase hint \($0.replacingOccurrences(of: "_", with: " "))" } ?? "no phase named"
        return SeriesChoice(
            entry: e,
            reason: e.orientationName == "axial"
                ? "the axial CT series of the preferred phase (portal venous, none named, delayed, arterial, non-contrast: \(phase)), then the most slices"
                : "the CT series of the preferred phase (\(phase)), then the most slices (no axial series found)")
    }

    /// The CT series but the masks' own, best first: axial, the main part of a UID, the phase,
    /// more slices, more bits (a 16-bit CT before an 8-bit mask series on the same grid), then a
    /// stable order. None: the error says what there is instead.
    static func rankedCTs(in inventory: Inventory, excluding excluded: Set<String>) throws -> [SeriesEntry] {
        func key(_ e: SeriesEntry) -> (Int, Int, Int, Int, Int, String) {
            (
                e.orientationName == "axial" ? 0 : 1, e.splitIndex, phaseRank(e.phaseHint), -e.slices.count,
                -(e.first.pixelFormat?.bitsStored ?? 0), e.key
            )
        }
        let ranked = inventory.imageSeries().filter { !excluded.contains($0.seriesUID) }.sorted { key($0) < key($1) }
        guard ranked.isEmpty else { return ranked }
        // Image series of another modality only: say so rather than "nothing found".
        if let other = inventory.imageSeries(anyModality: true).filter({ !excluded.contains($0.seriesUID) }).max(
            by: { $0.slices.count < $1.slices.count })
        {
            throw DicomError.notCT(series: other.label, modality: other.modality.isEmpty ? "(none)" : other.modality)
        }
        throw DicomError.noSeries(
            path: inventory.root, dicomFiles: inventory.dicomFileCount, skippedFiles: inventory.skippedNonDicom.count,
            unreadable: inventory.unreadable.count, firstReason: inventory.unreadable.first?.reason)
    }

    /// The series the masks belong to: the one they reference, else the first whose grid and frame
    /// of reference they fit.
    static func matching(_ masks: [LoadedMask], among ranked: [SeriesEntry], root: String) throws -> SeriesChoice {
        let referenced = Set(masks.flatMap(\.referencedSeriesUIDs))
        if let e = ranked.first(where: { referenced.contains($0.seriesUID) }) {
            return SeriesChoice(
                entry: e, reason: "the series the segmentation references ((0008,1115) Referenced Series Sequence)")
        }
        var tried: [String] = []
        var layoutErrors: [any Error] = []
        for e in ranked {
            let layout: SeriesLayout
            do { layout = try SeriesLayout(entry: e) } catch {
                layoutErrors.append(error)
                tried.append("\(e.label): \(error)")
                continue
            }
            let foR = e.first.frameOfReferenceUID
            if masks.allSatisfy({
                (try? $0.place(onto: layout.geometry, frameOfReferenceUID: foR, name: "mask")) != nil
            }) {
                return SeriesChoice(entry: e, reason: "the series whose grid the masks match")
            }
            tried.append(e.label)
        }
        // When no candidate could even form a volume, that is the error to report.
        if layoutErrors.count == ranked.count, let first = layoutErrors.first { throw first }
        throw AnalysisError.noMatchingSeries(
            detail:
                "no CT series under \(root) has the masks' grid; tried: \(tried.joined(separator: "; ")). Pass --series to see the measured mismatch"
        )
    }

    /// Portal venous shows the liver best against its neighbours; a series without a named phase
    /// comes next (often portal venous in routine abdominal CT), then delayed, arterial, non-contrast.
    static func phaseRank(_ hint: String?) -> Int {
        switch hint {
        case "portal_venous": return 0
        case nil: return 1
        case "delayed": return 2
        case "arterial": return 3
        default: return 4
        }
    }
}

/// One analysis: read, place masks, measure, report.
public struct Analysis: Sendable {
    public var report: Report
    public var ct: LoadedSeries
    public var liver: Mask
    public var lesions: Mask
    public var result: VolumetryResult

    public struct Request: Sendable {
        public var studyPath: String
        public var series: String?
        public var liverMasks: [MaskSpec]
        public var lesionMasks: [MaskSpec]
        public var connectivity: Connectivity
        /// Clinical facts (JSON) for the guideline rules; nil evaluates the imaging figures alone.
        public var clinicalFacts: String?
        /// Couinaud segment label map (NIfTI, labels 1-8) for exact ENETS typing.
        public var segments: String?
        /// A site's own rules file instead of the built-in one.
        public var rules: String?
        /// Skip the other phases of the session (no phase check of an automatic liver).
        public var singlePhase: Bool
        /// One-click lesions: each seed grows one lesion inside the liver (given or automatic).
        /// With seeds the lesions are the grown ones (united with given lesion masks), unless
        /// `automaticLesionsToo` adds the automatic lesions.
        public var lesionSeeds: [LesionSeed] = []
        public var automaticLesionsToo = false
        /// One-click vetoes: the automatic lesion at (or within 10 mm of) each point is removed.
        public var excludeLesions: [LesionSeed] = []
        public init(
            studyPath: String, series: String? = nil, liverMasks: [MaskSpec], lesionMasks: [MaskSpec],
            connectivity: Connectivity = .full26,
            clinicalFacts: String? = nil, segments: String? = nil, rules: String? = nil, singlePhase: Bool = false
        ) {
            self.studyPath = studyPath
            self.series = series
            self.liverMasks = liverMasks
            self.lesionMasks = lesionMasks
            self.connectivity = connectivity
            self.clinicalFacts = clinicalFacts
            self.segments = segments
            self.rules = rules
            self.singlePhase = singlePhase
        }
    }

    /// Masks united into one, on the CT grid, with what the report says of each.
    public static func unite(_ masks: [(MaskSpec, LoadedMask)], ct: LoadedSeries) throws -> (
        Mask, [Report.MaskInput], [LoadWarning]
    ) {
        var out = Mask(repeating: 0, geometry: ct.volume.geometry)
        var inputs: [Report.MaskInput] = []
        var warnings: [LoadWarning] = []
        for (spec, loaded) in masks {
            let m = try loaded.place(
                onto: ct.volume.geometry, frameOfReferenceUID: ct.entry.first.frameOfReferenceUID, name: spec.path)
            out = out.union(m)
            inputs.append(
                Report.MaskInput(
                    path: spec.path, kind: spec.kind.rawValue, selector: spec.selector,
                    segments: loaded.segmentLabels, source: "expert", method: nil, voxelCount: m.insideCount))
            warnings += loaded.warnings.map { LoadWarning("mask_" + $0.code, "\(spec.path): \($0.message)") }
        }
        return (out, inputs, warnings)
    }

    /// The report flag a pipeline routes on: the automatic result is doubtful (`Review`).
    public static let reviewFlag = "automatic_review_needed"

    /// `inventory`: the study's files already scanned (batch runs); nil scans `request.studyPath`.
    public static func run(_ request: Request, inventory scanned: Inventory? = nil) throws -> Analysis {
        let inputs = try readInputs(request, inventory: scanned)
        let masks = try resolveMasks(inputs, request: request)
        let r = try Volumetry.measure(liver: masks.liver, lesions: masks.lesions, connectivity: request.connectivity)
        var warnings = inputs.ct.warnings + masks.warnings
        if let info = masks.automatic {
            // What was segmented automatically, as the report's inputs say (seeded lesions are not).
            warnings += automaticWarnings(
                info, liverGiven: !masks.liverInputs.contains { $0.source == "automatic" },
                lesionsGiven: !masks.lesionInputs.contains { $0.source == "automatic" })
        }
        warnings += measurementWarnings(r, inventory: inputs.inventory)
        let guidelines = try evaluateRules(
            inputs, masks: masks, result: r, segmentsPath: request.segments, warnings: &warnings)
        var report = makeReport(request, inputs: inputs, masks: masks, result: r, warnings: warnings)
        report.guidelines = guidelines
        report.automatic = masks.automatic
        return Analysis(report: report, ct: inputs.ct, liver: masks.liver, lesions: masks.lesions, result: r)
    }

    /// What `run` reads before measuring: the rules and clinical facts (first: they fail fast,
    /// before any image), the study's inventory, the masks given, the series and its CT.
    struct Inputs {
        var ruleSet: RuleSet
        var clinical: Facts
        var inventory: Inventory
        var liverMasks: [(MaskSpec, LoadedMask)]
        var lesionMasks: [(MaskSpec, LoadedMask)]
        var choice: SeriesChoice
        var ct: LoadedSeries
    }

    static func readInputs(_ request: Request, inventory scanned: Inventory?) throws -> Inputs {
        let ruleSet = try request.rules.map(RuleSet.load) ?? RuleSet.builtIn()
        let clinical =
            try request.clinicalFacts.map { path -> Facts in
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw FactsError.unreadable(file: path, reason: "no such file")
                }
                return try Facts.parse(json: data, file: path)
            } ?? Facts()
        let inventory = try scanned ?? Inventory.scan(request.studyPath)
        let liverLoaded = try request.liverMasks.map { ($0, try LoadedMask.load($0)) }
        let lesionLoaded = try request.lesionMasks.map { ($0, try LoadedMask.load($0)) }
        let choice = try SeriesChooser.choose(
            in: inventory, selector: request.series, masks: (liverLoaded + lesionLoaded).map(\.1))
        return Inputs(
            ruleSet: ruleSet, clinical: clinical, inventory: inventory, liverMasks: liverLoaded,
            lesionMasks: lesionLoaded,
            choice: choice, ct: try SeriesLoader.loadCT(choice.entry))
    }

    /// The liver and lesion masks on the CT's grid, with how each was obtained.
    struct Masks {
        var liver: Mask
        var lesions: Mask
        var liverInputs: [Report.MaskInput]
        var lesionInputs: [Report.MaskInput]
        var automatic: AutoSegmentation.Info?
        /// Warnings from laying the given masks on the grid.
        var warnings: [LoadWarning]
        /// Seeds and vetoes, when given.
        var seeded: SeededGrowth.Result? = nil
        var excluded: [SeedOutcome]? = nil
        /// The session's other phases, when seeds were grown looking at them.
        var phases: [PhaseInput]? = nil
    }

    /// The expert's masks laid on the CT's grid; what the expert did not give, htb segments: no
    /// masks = liver and lesions; a liver mask alone = lesions inside it; lesion masks alone = the
    /// liver around them. With an automatic liver, the session's other phases are checked too.
    /// Seeds grow lesions inside the whole liver (the given liver with any given lesions, or the
    /// automatic liver with its lesions); with seeds the automatic lesions are used only with
    /// `automaticLesionsToo`, and vetoes remove automatic lesions (they become liver).
    static func resolveMasks(_ inputs: Inputs, request: Request) throws -> Masks {
        // Masks not given are not allocated (two empty full-size masks would be a third of the
        // automatic analysis' memory).
        let expertLiver = inputs.liverMasks.isEmpty ? nil : try unite(inputs.liverMasks, ct: inputs.ct)
        let expertLesions = inputs.lesionMasks.isEmpty ? nil : try unite(inputs.lesionMasks, ct: inputs.ct)
        let seeding = !request.lesionSeeds.isEmpty || !request.excludeLesions.isEmpty
        let automaticLesions = expertLesions == nil && (request.lesionSeeds.isEmpty || request.automaticLesionsToo)
        var liver = expertLiver?.0, lesions = expertLesions?.0
        var liverInputs = expertLiver?.1 ?? [], lesionInputs = expertLesions?.1 ?? []
        var automatic: AutoSegmentation.Info?, excluded: [SeedOutcome]?, seeded: SeededGrowth.Result?
        if expertLiver == nil || automaticLesions {
            let auto = try segmentAutomatically(
                inputs.ct, liver: expertLiver?.0, study: request.studyPath, chosen: inputs.choice.entry,
                inventory: inputs.inventory, singlePhase: request.singlePhase)
            automatic = auto.info
            func input(_ m: Mask) -> Report.MaskInput {
                Report.MaskInput(
                    path: nil, kind: "automatic", selector: nil, segments: nil, source: "automatic",
                    method: auto.info.method, voxelCount: m.insideCount)
            }
            if liver == nil {
                // With seeds or vetoes, the automatic lesions not kept are liver.
                let l = seeding ? auto.liver.union(auto.lesions) : auto.liver
                (liver, liverInputs) = (l, [input(l)])
            }
            if automaticLesions {
                var l = auto.lesions
                if !request.excludeLesions.isEmpty {
                    let vetoed = try LesionExclusion.exclude(
                        request.excludeLesions, from: l, connectivity: request.connectivity)
                    (l, excluded) = (vetoed.lesions, vetoed.outcomes)
                }
                (lesions, lesionInputs) = (l, lesionInputs + [input(l)])
            }
        }
        var phases: [PhaseInput]?
        if !request.lesionSeeds.isEmpty, let whole = liver {
            // Seeds grow within the whole liver: the liver mask and any given lesions, each on
            // the phase of the session where it stands out most (unless --single-phase).
            let within = expertLesions.map { whole.union($0.0) } ?? whole
            let images: [SeededGrowth.Phase]
            (images, phases) = siblingImages(
                chosen: inputs.choice.entry, ct: inputs.ct.volume, liver: within, inventory: inputs.inventory,
                singlePhase: request.singlePhase)
            let grown = try SeededGrowth.grow(
                ct: inputs.ct.volume, liver: within, seeds: request.lesionSeeds, phases: images)
            lesions = lesions.map { $0.union(grown.lesions) } ?? grown.lesions
            lesionInputs.append(
                Report.MaskInput(
                    path: nil, kind: "seeded", selector: nil, segments: nil, source: "seeded",
                    method: SeededGrowth.method, voxelCount: grown.lesions.insideCount))
            seeded = grown
        }
        // Here the liver is given or automatic, and the lesions given, automatic or seeded.
        return Masks(
            liver: liver!, lesions: lesions!, liverInputs: liverInputs, lesionInputs: lesionInputs,
            automatic: automatic, warnings: (expertLiver?.2 ?? []) + (expertLesions?.2 ?? []), seeded: seeded,
            excluded: excluded, phases: phases)
    }

    /// The warnings an automatic result carries: that it is automatic, a tumour-dominated
    /// reading, plausibility concerns and the review flag's reasons.
    static func automaticWarnings(_ automatic: AutoSegmentation.Info, liverGiven: Bool, lesionsGiven: Bool)
        -> [LoadWarning]
    {
        let parts = [liverGiven ? nil : "liver", lesionsGiven ? nil : "lesions"].compactMap { $0 }.joined(
            separator: " and ")
        var warnings = [
            LoadWarning(
                "automatic_segmentation",
                "\(parts) segmented automatically (\(automatic.method)); this method misses lesions that differ little from the liver "
                    + "(README, 'Automatic segmentation'): confirm the contours on the overlays before acting on HTB")
        ]
        if automatic.tumourDominated == true, let t = automatic.tumourModeHU, let p = automatic.parenchymaModeHU {
            warnings.append(
                LoadWarning(
                    "automatic_tumour_dominated",
                    String(
                        format:
                            "the liver's most frequent tissue (%.0f HU) is implausible for parenchyma and was taken for tumour; "
                            + "the parenchyma is the tissue around it (%.0f HU): a tumour-dominated liver, check the overlays",
                        t, p)))
        }
        for c in automatic.concerns { warnings.append(LoadWarning("automatic_liver_implausible", c)) }
        if automatic.reviewNeeded == true {
            let reasons = automatic.reviewReasons ?? []
            warnings.append(
                LoadWarning(
                    "automatic_review_needed",
                    "the automatic result is doubtful (" + reasons.map(\.code).joined(separator: ", ")
                        + "): have a reader check the overlays before using HTB; "
                        + reasons.map(\.detail).joined(separator: "; ")))
        }
        return warnings
    }

    /// The warnings the measurement itself raises: a liver cut by the field of view, lesion masks
    /// partly outside the liver mask, unreadable files under the study.
    static func measurementWarnings(_ r: VolumetryResult, inventory: Inventory) -> [LoadWarning] {
        var warnings: [LoadWarning] = []
        if !r.liverTouchesFieldOfView.isEmpty {
            warnings.append(
                LoadWarning(
                    "liver_at_fov_edge",
                    "the liver reaches the \(r.liverTouchesFieldOfView.joined(separator: ", ")) of the field of view: its volume (and HTB's denominator) is a lower bound"
                ))
        }
        // All lesion voxels outside the liver mask is the label-map convention (liver = parenchyma);
        // only a partial overlap means the two masks disagree at the edges.
        if r.lesionVoxelsOutsideLiverMask > 0 && r.lesionVoxelsOutsideLiverMask < r.lesionVoxelCount {
            warnings.append(
                LoadWarning(
                    "lesion_outside_liver_mask",
                    "\(r.lesionVoxelsOutsideLiverMask) lesion voxels lie outside the liver mask; they are counted as liver (whole liver = liver mask united with lesion mask)"
                ))
        }
        if !inventory.unreadable.isEmpty {
            warnings.append(
                LoadWarning(
                    "unreadable_files",
                    "\(inventory.unreadable.count) DICOM file(s) under the study could not be read, first: \(inventory.unreadable[0].reason)"
                ))
        }
        return warnings
    }

    /// The guideline rules on the clinical facts plus htb's figures (the measured value wins over
    /// one given in the facts, with a warning). An automatic liver that fails a plausibility check
    /// gives no imaging figures: the rules answer "needs" instead of recommending from a number
    /// that is likely wrong.
    static func evaluateRules(
        _ inputs: Inputs, masks: Masks, result r: VolumetryResult, segmentsPath: String?, warnings: inout [LoadWarning]
    ) throws -> GuidelinesReport {
        let enets = try Self.enets(result: r, liver: masks.liver, lesions: masks.lesions, segmentsPath: segmentsPath)
        var facts = inputs.clinical
        for key in ["htb_percent", "lesion_count", "liver_volume_ml", "lesion_volume_ml", "largest_lesion_mm"]
        where inputs.clinical[key] != nil {
            warnings.append(
                LoadWarning("clinical_figure_ignored", "--clinical gives \(key); the value measured by htb is used"))
        }
        if masks.automatic?.concerns.isEmpty ?? true {
            facts.set("htb_percent", .number(r.htbPercent))
            facts.set("lesion_count", .number(Double(r.lesions.count)))
            facts.set("liver_volume_ml", .number(r.liverVolumeML))
            facts.set("lesion_volume_ml", .number(r.lesionVolumeML))
            if let d = r.lesions.map(\.diameters.longestMM).max() { facts.set("largest_lesion_mm", .number(d)) }
        }
        return GuidelineEngine.evaluate(facts, rules: inputs.ruleSet, enets: enets)
    }

    /// The report's figures, rounded as report.json gives them, and its flags.
    static func makeReport(
        _ request: Request, inputs: Inputs, masks: Masks, result r: VolumetryResult, warnings: [LoadWarning]
    ) -> Report {
        let g = inputs.ct.volume.geometry
        let e = inputs.choice.entry
        let automatic = masks.automatic
        let doubtful = !(automatic?.concerns.isEmpty ?? true)
        let sources = lesionSources(r, masks: masks)
        return Report(
            tool: Report.Tool(),
            study: Report.Study(
                studyUID: e.studyUID, seriesUID: e.seriesUID, seriesKey: e.key, seriesNumber: e.seriesNumber,
                seriesDescription: e.seriesDescription, modality: e.modality, phaseHint: e.phaseHint,
                sliceCount: g.dims.z, dims: g.dims, spacingMM: round(g.spacingMM, 6), originMM: round(g.originMM, 4),
                directions: [g.axes.0, g.axes.1, g.axes.2].map { round($0, 6) },
                voxelVolumeMM3: round(g.voxelVolumeMM3, 6),
                transferSyntax: transferSyntaxName(e.first.transferSyntaxUID), warnings: warnings),
            inputs: Report.Inputs(
                studyPath: request.studyPath, series: e.key, seriesReason: inputs.choice.reason,
                liverMasks: masks.liverInputs, lesionMasks: masks.lesionInputs, seeds: masks.seeded?.outcomes,
                excluded: masks.excluded, phases: masks.phases),
            liver: Report.Liver(
                volumeML: round(r.liverVolumeML, 4), parenchymaVolumeML: round(r.parenchymaVolumeML, 4),
                voxelCount: r.liverVoxelCount, touchesFieldOfView: r.liverTouchesFieldOfView),
            lesions: Report.Lesions(
                count: r.lesions.count, totalVolumeML: round(r.lesionVolumeML, 4),
                connectivity: r.connectivity.rawValue,
                items: zip(r.lesions, sources).map { l, source in
                    Report.LesionItem(
                        id: l.id, volumeML: round(l.volumeML, 4), voxelCount: l.voxelCount,
                        centroidMM: round(l.centroidMM, 3), longestAxialDiameterMM: round(l.diameters.longestMM, 3),
                        shortAxisMM: round(l.diameters.shortAxisMM, 3), diameterSliceIndex: l.diameters.slice,
                        source: source.0, seedMM: source.1.map { round($0, 3) })
                }),
            htb: Report.HTB(percent: round(r.htbPercent, 4), category: r.category.rawValue),
            flags: (doubtful
                ? ["automatic_liver_implausible"]
                : r.flags + (automatic?.tumourDominated == true ? ["automatic_tumour_dominated"] : []))
                + (automatic?.reviewNeeded == true ? [Self.reviewFlag] : []))
    }

    /// Each measured lesion's source: "seeded" (with its first seed) when it holds voxels grown
    /// from a seed, else "expert" when lesion masks were given, else "automatic".
    static func lesionSources(_ r: VolumetryResult, masks: Masks) -> [(String, Vector3?)] {
        let plain = masks.lesionInputs.contains { $0.source == "expert" } ? "expert" : "automatic"
        guard let seeded = masks.seeded else { return r.components.voxels.map { _ in (plain, nil) } }
        var seedOf = [Int: Int]()
        for (n, voxels) in seeded.voxels.enumerated() { for v in voxels where seedOf[v] == nil { seedOf[v] = n } }
        return r.components.voxels.map { voxels in
            guard let n = voxels.lazy.compactMap({ seedOf[$0] }).min() else { return (plain, nil) }
            return ("seeded", seeded.outcomes[n].seed.positionMM)
        }
    }

    /// The axial CT series of the same scan session as `chosen`: the same Frame of Reference UID
    /// (or, when either has none, the same study), not `chosen`'s own series, no scouts.
    static func siblingPhases(of chosen: SeriesEntry, in inventory: Inventory) -> [SeriesEntry] {
        inventory.imageSeries().filter { e in
            guard e.seriesUID != chosen.seriesUID, e.splitIndex == 0, e.orientationName == "axial", e.slices.count >= 10
            else { return false }
            if let a = e.first.frameOfReferenceUID, let b = chosen.first.frameOfReferenceUID { return a == b }
            return e.studyUID == chosen.studyUID
        }
    }

    /// Segments each other phase of `chosen`'s session on its own and records its liver's
    /// volume and its own review reasons; when one differs by more than
    /// `Review.maximumPhaseDisagreement`, the review flag is set with `phases_disagree`
    /// (`Review.phaseReason`). A phase that cannot be read or segmented is listed with its error
    /// and does not count.
    static func checkPhases(
        _ info: inout AutoSegmentation.Info, liverML: Double, chosen: SeriesEntry, inventory: Inventory
    ) {
        let siblings = siblingPhases(of: chosen, in: inventory)
        guard !siblings.isEmpty else { return }
        var phases: [AutoSegmentation.PhaseLiver] = []
        for e in siblings {
            var p = AutoSegmentation.PhaseLiver(
                seriesKey: e.key, seriesDescription: e.seriesDescription, phaseHint: e.phaseHint, liverVolumeML: nil,
                error: nil)
            do {
                let r = try AutoSegmentation.segment(try SeriesLoader.loadCT(e).volume)
                p.liverVolumeML = (r.liver.union(r.lesions).volumeML * 10000).rounded() / 10000
                p.reviewReasons = (r.info.reviewReasons ?? []).map(\.code)
            } catch {
                p.error = "\(error)"
            }
            phases.append(p)
        }
        info.phases = phases
        if let reason = Review.phaseReason(liverML: liverML, phases: phases) {
            info.reviewReasons = (info.reviewReasons ?? []) + [reason]
            info.reviewNeeded = true
        }
    }

    /// The automatic segmentation as `analyze` reports it: with an automatic liver (no `liver`
    /// given), the lesions are also looked for on the other phases of `chosen`'s session, and each
    /// of those phases is segmented on its own for the phase check (`checkPhases`), unless
    /// `singlePhase`.
    static func segmentAutomatically(
        _ ct: LoadedSeries, liver: Mask?, study: String, without: Set<AutoSegmentation.Stage> = [],
        chosen: SeriesEntry, inventory: Inventory, singlePhase: Bool
    ) throws -> AutoSegmentation.Result {
        let phases = liver == nil && !singlePhase
        let (others, otherInputs) =
            phases ? otherPhases(chosen: chosen, ct: ct.volume, inventory: inventory) : ([], nil)
        var auto = try segmentAutomatically(ct, liver: liver, study: study, without: without, otherPhases: others)
        if phases {
            checkPhases(
                &auto.info, liverML: auto.liver.union(auto.lesions).volumeML, chosen: chosen, inventory: inventory)
            noteLesionPhases(&auto.info, inputs: otherInputs)
        }
        return auto
    }

    /// The automatic segmentation of `ct` (lesions only, inside `liver`, when one is given), its
    /// failure as an analysis error naming the study.
    static func segmentAutomatically(
        _ ct: LoadedSeries, liver: Mask?, study: String, without: Set<AutoSegmentation.Stage> = [],
        otherPhases: [OtherPhases.Phase] = []
    ) throws -> AutoSegmentation.Result {
        do {
            return try AutoSegmentation.segment(ct.volume, liver: liver, without: without, otherPhases: otherPhases)
        } catch let e as AutoSegmentationError {
            throw AnalysisError.segmentationFailed(study: study, reason: "\(e)")
        }
    }

    /// Liver 1, lesion 2 (lesion wins), on the CT grid.
    public var labelMap: Volume<UInt8> { Self.labelMap(liver: liver, lesions: lesions) }

    public static func labelMap(liver: Mask, lesions: Mask) -> Volume<UInt8> {
        var out = liver
        for v in 0..<out.voxels.count { out.voxels[v] = lesions.voxels[v] != 0 ? 2 : (liver.voxels[v] != 0 ? 1 : 0) }
        return out
    }
}

extension Analysis {
    /// Right share of the liver in the approximate left/right split (htb's choice: the right lobe
    /// typically holds about 60 % of the liver volume).
    public static let approximateRightLiverShare = 0.6

    /// ENETS placement of each lesion: by Couinaud segment when a map is given, else by a
    /// sagittal plane (constant patient x) leaving 60 % of the whole liver on the patient's right.
    static func enets(result r: VolumetryResult, liver: Mask, lesions: Mask, segmentsPath: String?) throws
        -> EnetsResult?
    {
        guard !r.lesions.isEmpty else { return nil }
        let g = liver.geometry
        var segmentMap: Volume<UInt8>?
        if let path = segmentsPath {
            let image: NIfTIImage
            do { image = try NIfTIImage.read(path: path) } catch let e as NIfTIError {
                throw MaskError.unreadable(mask: path, reason: "\(e)")
            }
            var labels = [UInt8](repeating: 0, count: image.geometry.dims.count)
            for v in 0..<labels.count {
                let x = image.value(at: v).rounded()
                labels[v] = (1...8).contains(x) ? UInt8(x) : 0
            }
            segmentMap = try Volume(voxels: labels, geometry: image.geometry).aligned(onto: g, name: path)
        }
        // The split plane: the 60 % quantile of whole-liver voxel x (LPS: the patient's right is -x).
        var xs: [Double] = []
        for v in 0..<liver.voxels.count where liver.voxels[v] != 0 || lesions.voxels[v] != 0 {
            let i = v % g.dims.x, j = (v / g.dims.x) % g.dims.y, k = v / g.dims.sliceCount
            xs.append(g.positionMM(Double(i), Double(j), Double(k)).x)
        }
        xs.sort()
        let split = xs.isEmpty ? 0 : xs[min(xs.count - 1, Int(Double(xs.count) * approximateRightLiverShare))]
        let placements = zip(r.lesions, r.components.voxels).map { lesion, voxels -> LesionPlacement in
            var counts: [Int: Int]?
            if let map = segmentMap {
                var c: [Int: Int] = [:]
                for v in voxels where map.voxels[v] != 0 { c[Int(map.voxels[v]), default: 0] += 1 }
                counts = c
            }
            let p = lesion.centroidMM
            return LesionPlacement(
                volumeML: lesion.volumeML, centroidMM: (p.x, p.y, p.z), segmentVoxels: counts, right: p.x < split)
        }
        return EnetsResult.classify(placements)
    }
}

/// Writes `data` to `path` atomically (temporary file in the same folder, then rename).
public func writeAtomically(_ data: Data, to path: String) throws {
    do {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent.isEmpty
                ? "." : (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw AnalysisError.cannotWrite(path: path, reason: error.localizedDescription)
    }
}

/// One CSV field, RFC 4180 quoted; a leading = + - @ is prefixed with ' so spreadsheets do not run it.
public func csvField(_ v: String) -> String {
    var s = v
    if let c = s.first, "=+-@".contains(c), Double(s) == nil { s = "'" + s }
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        s = "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}
