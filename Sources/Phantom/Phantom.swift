import DicomIO
import Foundation
import NIfTI
import VolumeModel
import Volumetry

/// What to synthesise. Every field is explicit so a phantom can be regenerated exactly.
public struct PhantomSpec: Sendable, Codable, Equatable {
    public var seed: UInt64 = 1
    public var matrix: Int = 256
    public var slices: Int = 80
    public var sliceMM: Double = 2.5
    public var pixelMM: Double = 1.4
    public var lesions: Int = 3
    /// Target HTB %; nil keeps the lesions at their drawn sizes.
    public var htbPercent: Double?
    public var noiseHU: Double = 12
    public var enhancement: String = "mixed"
    public var phase: ContrastPhase = .portal
    /// Failure classes (issue 20); nil is the default phantom (model v5's pixels).
    /// `lesionShape`: "round" (nil) or "irregular": lobulated and confluent masses and lesions
    /// sleeved along a vessel, no rims.
    public var lesionShape: String?
    /// `lesionTexture`: "uniform" (nil) or "mosaic": heterogeneous lesions, patches of each
    /// lesion (cells of about 7 mm, about 30 % of it, outside a solid core of 0.3 radius) keep only
    /// a fifth of its contrast, as necrosis and mixed enhancement leave a tumour mottled; the
    /// truth is the whole lesion, as an expert outlines it.
    public var lesionTexture: String?
    /// Graded lesion margins (nil or 0: sharp edges): over each lesion's outer this many mm its
    /// contrast fades linearly from the whole to a fifth at its edge, as metastases fade into the
    /// parenchyma on real CT (IRCADb 17: a fifth of the contrast at the expert's outline, half of
    /// it 3 mm inside; `Benchmarks/expert_edges.py`); the truth is the whole lesion, as the expert
    /// outlines it. No enhancing rim is drawn over a graded margin.
    public var lesionMarginMM: Double?
    /// Necrotic lesions: each lesion of `Anatomy.necrosisMinimumRadiusMM` or more has a centre
    /// of unenhanced necrosis (`PhaseContrast.necrosisHU`, every phase) where it lies deeper than
    /// `Anatomy.necrosisDepthShare` of its radius, as large metastases do (IRCADb 17's dome lesion:
    /// a dark core, 31 HU median where the automatic liver leaves it out, reaching its surface);
    /// the truth is the whole lesion.
    public var necroticLesions: Bool?
    /// How many of the lesions are centred in the left lobe (nil: none placed there on purpose).
    public var leftLobeLesions: Int?
    /// How many of the lesions (after the left lobe's) are centred under the dome: in the right
    /// lobe, within `Phantom.domeDepthMM` of its upper surface, so that they reach the capsule
    /// under the diaphragm and bulge it (the liver is its outline and what of them lies beyond;
    /// nil: none placed there on purpose).
    public var domeLesions: Int?
    /// Lung bases above the diaphragm (`Anatomy.lungOrDiaphragm`) instead of bowel (nil: none).
    public var lungs: Bool?
    /// The spleen against the left lobe, 10 HU brighter than the liver.
    public var spleenContact: Bool?
    /// The stomach against the left lobe, its 6 mm wall 5 HU darker than the liver.
    public var stomachContact: Bool?
    /// Steatosis: the parenchyma this many HU darker (nil: none); vessels and lesions unchanged.
    public var steatosisHU: Double?

    /// A later study of the same phantom patient (nil: the phantom itself, the baseline).
    public var followUp: FollowUp?
    /// The same anatomy in other contrast phases of the same scan session, written as further
    /// series of the study (same Study Instance and Frame of Reference UIDs; nil: none).
    public var siblingPhases: [ContrastPhase]?
    /// How far the anatomy lies higher (+, superior, mm) in the sibling phases than in the
    /// measured one: another breath-hold (nil: none).
    public var siblingShiftMM: Double?

    /// What changed between the baseline and this follow-up: every lesion's volume times `scale`,
    /// `newLesions` lesions that were not there, the body moved by `shiftMM` (patient coordinates).
    public struct FollowUp: Sendable, Codable, Equatable {
        public var scale: Double = 1
        public var newLesions: Int = 0
        public var shiftMM = Vector3(0, 0, 0)
        public init(scale: Double = 1, newLesions: Int = 0, shiftMM: Vector3 = Vector3(0, 0, 0)) {
            self.scale = scale
            self.newLesions = newLesions
            self.shiftMM = shiftMM
        }
        enum CodingKeys: String, CodingKey {
            case scale, newLesions = "new_lesions", shiftMM = "shift_mm"
        }
    }

    public init() {}

    /// The baseline this spec follows up (itself when it is a baseline).
    public var baseline: PhantomSpec {
        var b = self
        b.followUp = nil
        return b
    }

    enum CodingKeys: String, CodingKey {
        case seed, matrix, slices, sliceMM = "slice_mm", pixelMM = "pixel_mm", lesions, htbPercent = "htb_percent"
        case noiseHU = "noise_hu", enhancement, phase
        case lesionShape = "lesion_shape", lesionTexture = "lesion_texture", lesionMarginMM = "lesion_margin_mm",
            necroticLesions = "necrotic_lesions",
            leftLobeLesions = "left_lobe_lesions",
            domeLesions = "dome_lesions", lungs,
            spleenContact = "spleen_contact",
            stomachContact = "stomach_contact"
        case steatosisHU = "steatosis_hu"
        case followUp = "follow_up"
        case siblingPhases = "sibling_phases", siblingShiftMM = "sibling_shift_mm"
    }

    /// The command line that makes this phantom.
    public var command: String {
        var c =
            "htb synth --seed \(seed) --matrix \(matrix) --slices \(slices) --slice-mm \(decimalString(sliceMM)) --pixel-mm \(decimalString(pixelMM)) --lesions \(lesions)"
        if let h = htbPercent { c += " --htb \(decimalString(h))" }
        c += " --noise-hu \(decimalString(noiseHU)) --enhancement \(enhancement) --phase \(phase.rawValue)"
        if let s = lesionShape { c += " --lesion-shape \(s)" }
        if let t = lesionTexture { c += " --lesion-texture \(t)" }
        if let m = lesionMarginMM { c += " --lesion-margin-mm \(decimalString(m))" }
        if necroticLesions == true { c += " --necrotic-lesions" }
        if let n = leftLobeLesions { c += " --left-lobe-lesions \(n)" }
        if let n = domeLesions { c += " --dome-lesions \(n)" }
        if lungs == true { c += " --lungs" }
        if spleenContact == true { c += " --spleen-contact" }
        if stomachContact == true { c += " --stomach-contact" }
        if let h = steatosisHU { c += " --steatosis-hu \(decimalString(h))" }
        for p in siblingPhases ?? [] { c += " --sibling-phase \(p.rawValue)" }
        if let z = siblingShiftMM { c += " --sibling-shift-mm \(decimalString(z))" }
        if let f = followUp {
            c +=
                " --follow-up --scale \(decimalString(f.scale)) --new-lesions \(f.newLesions) --shift-mm \([f.shiftMM.x, f.shiftMM.y, f.shiftMM.z].map(decimalString).joined(separator: ","))"
        }
        return c
    }
}

public enum PhantomError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidSpec(String)
    case cannotWrite(path: String, reason: String)
    public var description: String {
        switch self {
        case .invalidSpec(let s): return "invalid phantom: \(s)"
        case .cannotWrite(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}

/// The exact truth of what was voxelised (labels by voxel centre).
public struct PhantomTruth: Sendable, Codable {
    public var schema = "htb.phantom-truth/1"
    public var command: String
    public var spec: PhantomSpec
    public var dims: Dims
    public var spacingMM: Vector3
    public var voxelVolumeMM3: Double
    public var liverVoxels: Int
    public var lesionVoxels: Int
    /// Whole liver (parenchyma + lesions).
    public var liverVolumeML: Double
    public var parenchymaVolumeML: Double
    public var lesionVolumeML: Double
    public var htbPercent: Double
    public var category: String
    /// Connected lesions in the truth mask (26-connectivity), as htb counts them.
    public var lesionCount: Int
    public var lesionVolumesML: [Double]
    /// For a follow-up: what it is the follow-up of, and the truth of the matching.
    public var followUp: FollowUpTruth?

    /// Lesions are numbered as in `lesionVolumesML` (1 = largest), on each side.
    public struct FollowUpTruth: Sendable, Codable, Equatable {
        public var baselineCommand: String
        public var baselineLesionVolumeML: Double
        public var baselineLesionVolumesML: [Double]
        public var baselineLiverVolumeML: Double
        /// (baseline lesion, follow-up lesion) pairs: the same drawn lesion at both times.
        public var pairs: [[Int]]
        /// Follow-up lesions made of new lesions only.
        public var newLesions: [Int]
        /// Baseline lesions with no voxel left at follow-up.
        public var goneLesions: [Int]
        /// Longest axial diameter (mm) of each follow-up lesion, as htb measures it (RECIST counts a
        /// new lesion from 10 mm).
        public var lesionLongestAxialDiametersMM: [Double]
        enum CodingKeys: String, CodingKey {
            case baselineCommand = "baseline_command", baselineLesionVolumeML = "baseline_lesion_volume_ml"
            case baselineLesionVolumesML = "baseline_lesion_volumes_ml", baselineLiverVolumeML =
                "baseline_liver_volume_ml"
            case pairs, newLesions = "new_lesions", goneLesions = "gone_lesions"
            case lesionLongestAxialDiametersMM = "lesion_longest_axial_diameters_mm"
        }
    }

    enum CodingKeys: String, CodingKey {
        case followUp = "follow_up"
        case schema, command, spec, dims, spacingMM = "spacing_mm", voxelVolumeMM3 = "voxel_volume_mm3"
        case liverVoxels = "liver_voxels", lesionVoxels = "lesion_voxels", liverVolumeML = "liver_volume_ml"
        case parenchymaVolumeML = "parenchyma_volume_ml", lesionVolumeML = "lesion_volume_ml", htbPercent =
            "htb_percent"
        case category, lesionCount = "lesion_count", lesionVolumesML = "lesion_volumes_ml"
    }
}

/// A generated study: CT in HU, truth labels (0 outside, 1 liver parenchyma, 2 lesion) and truth figures.
public struct Phantom: Sendable {
    public var spec: PhantomSpec
    public var ct: CTVolume
    public var labels: Volume<UInt8>
    public var truth: PhantomTruth

    /// A dome lesion's centre lies at most this far below the liver's upper surface (`domeLesions`).
    static let domeDepthMM = 10.0

    /// `baseline`: for a follow-up, its baseline when already built (else it is built again for the truth).
    public static func build(_ spec: PhantomSpec, baseline: Phantom? = nil) throws -> Phantom {
        try build(spec, baseline: baseline, noiseSalt: 0, bodyShiftMM: Vector3(0, 0, 0))
    }

    /// `noiseSalt`: another draw of the noise (a sibling phase is another acquisition);
    /// `bodyShiftMM`: the body sampled at p - shift (a sibling phase's breath-hold).
    static func build(_ spec: PhantomSpec, baseline: Phantom?, noiseSalt: UInt64, bodyShiftMM: Vector3) throws
        -> Phantom
    {
        guard (32...1024).contains(spec.matrix) else { throw PhantomError.invalidSpec("--matrix must be 32 to 1024") }
        guard (4...1000).contains(spec.slices) else { throw PhantomError.invalidSpec("--slices must be 4 to 1000") }
        guard spec.sliceMM > 0.2 && spec.sliceMM <= 10, spec.pixelMM > 0.2 && spec.pixelMM <= 10 else {
            throw PhantomError.invalidSpec("--slice-mm must be in (0.2, 10] and --pixel-mm in (0.2, 10]")
        }
        guard (0...500).contains(spec.lesions) else { throw PhantomError.invalidSpec("--lesions must be 0 to 500") }
        if let h = spec.htbPercent, !(h > 0 && h < 100), spec.lesions > 0 || h != 0 {
            throw PhantomError.invalidSpec("--htb must be between 0 and 100 (exclusive)")
        }
        guard spec.noiseHU >= 0 && spec.noiseHU <= 200 else {
            throw PhantomError.invalidSpec("--noise-hu must be 0 to 200")
        }
        if let phases = spec.siblingPhases {
            guard !phases.contains(spec.phase), Set(phases).count == phases.count else {
                throw PhantomError.invalidSpec("--sibling-phase must name phases other than --phase, each once")
            }
        }
        if let z = spec.siblingShiftMM {
            guard spec.siblingPhases?.isEmpty == false, abs(z) <= 50 else {
                throw PhantomError.invalidSpec("--sibling-shift-mm needs --sibling-phase and lies within 50 mm")
            }
        }
        let kinds: [LesionEnhancement]
        switch spec.enhancement {
        case "hypo": kinds = [.hypo]
        case "hyper": kinds = [.hyper]
        case "mixed": kinds = [.hypo, .hyper]
        default: throw PhantomError.invalidSpec("--enhancement must be hypo, hyper or mixed")
        }
        let irregular: Bool
        switch spec.lesionShape {
        case nil, "round": irregular = false
        case "irregular": irregular = true
        default: throw PhantomError.invalidSpec("--lesion-shape must be round or irregular")
        }
        let mosaic: Bool
        switch spec.lesionTexture {
        case nil, "uniform": mosaic = false
        case "mosaic": mosaic = true
        default: throw PhantomError.invalidSpec("--lesion-texture must be uniform or mosaic")
        }
        if let n = spec.leftLobeLesions, !(0...spec.lesions).contains(n) {
            throw PhantomError.invalidSpec("--left-lobe-lesions must be 0 to --lesions (\(spec.lesions))")
        }
        let leftCount = spec.leftLobeLesions ?? 0
        if let n = spec.domeLesions, !(0...(spec.lesions - leftCount)).contains(n) {
            throw PhantomError.invalidSpec(
                "--dome-lesions must be 0 to --lesions less --left-lobe-lesions (\(spec.lesions - leftCount))")
        }
        let n = spec.matrix
        let half = Double(n - 1) / 2 * spec.pixelMM
        let geometry = Geometry(
            dims: Dims(n, n, spec.slices), originMM: Vector3(-half, -half, 0),
            spacingMM: Vector3(spec.pixelMM, spec.pixelMM, spec.sliceMM),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        let zCenter = Double(spec.slices - 1) * spec.sliceMM / 2
        if let h = spec.steatosisHU, !(0...100).contains(h) {
            throw PhantomError.invalidSpec("--steatosis-hu must be 0 to 100")
        }
        if let m = spec.lesionMarginMM, !(0...15).contains(m) {
            throw PhantomError.invalidSpec("--lesion-margin-mm must be 0 to 15")
        }
        let options = AnatomyOptions(
            spleenContact: spec.spleenContact == true, stomachContact: spec.stomachContact == true,
            steatosisHU: spec.steatosisHU ?? 0, mosaic: mosaic, lesionMarginMM: spec.lesionMarginMM ?? 0,
            necrosis: spec.necroticLesions == true, lungs: spec.lungs == true)
        var anatomy = Anatomy(seed: spec.seed, zCenterMM: zCenter, phase: spec.phase, options: options)
        var rng = SeededGenerator(seed: spec.seed)

        // Liver voxel centres, for placing lesions and for hitting the target HTB.
        var liverCentres: [Vector3] = []
        for k in 0..<geometry.dims.z {
            for j in 0..<n {
                for i in 0..<n {
                    let p = geometry.positionMM(Double(i), Double(j), Double(k))
                    if anatomy.inTruthLiver(p) { liverCentres.append(p) }
                }
            }
        }
        guard liverCentres.count >= 100 else {
            throw PhantomError.invalidSpec(
                "the field of view (\(n) x \(decimalString(spec.pixelMM)) mm, \(spec.slices) x \(decimalString(spec.sliceMM)) mm) holds too little liver; enlarge it"
            )
        }
        // Lesions: centres anywhere in the liver (deep or under the capsule), radii log-uniform
        // from 2.5 mm (a 5 mm lesion) to 30 mm; --htb then scales them all, which merges them into
        // confluent masses at high burden. Many lesions (--lesions 30 and more) make a diffuse liver.
        // --left-lobe-lesions N centres the first N in the left lobe; --lesion-shape irregular
        // shapes each from its own generator (so the centres and radii are the round phantom's).
        let leftCentres = liverCentres.filter { anatomy.leftLobe.level($0) <= 1 && anatomy.rightLobe.level($0) > 1 }
        // Under the dome: right lobe, upper half, the liver's surface within `domeDepthMM` above.
        let domeCentres =
            (spec.domeLesions ?? 0) == 0
            ? []
            : liverCentres.filter {
                anatomy.rightLobe.level($0) <= 1 && anatomy.leftLobe.level($0) > 1 && $0.z > anatomy.rightLobe.center.z
                    && !anatomy.inLiver($0 + Vector3(0, 0, Self.domeDepthMM))
            }
        var shapes = SeededGenerator(seed: spec.seed ^ 0x1E51_0A5E_77AB_C0DE)
        var base: [Lesion] = []
        for l in 0..<spec.lesions {
            let inLeft = l < leftCount && !leftCentres.isEmpty
            let atDome = !inLeft && l < leftCount + (spec.domeLesions ?? 0) && !domeCentres.isEmpty
            let pool = inLeft ? leftCentres : atDome ? domeCentres : liverCentres
            let c = pool[Int(rng.next() % UInt64(pool.count))]
            let r = exp(rng.uniform(log(2.5), log(30.0)))
            let rim = rng.uniform() < 0.3 ? 2.0 : 0
            var lesion = Lesion(center: c, radiusMM: r, enhancement: kinds[l % kinds.count], rimMM: rim)
            if irregular { lesion = Self.irregular(lesion, anatomy: anatomy, rng: &shapes) }
            base.append(lesion)
        }
        func scaled(_ s: Double) -> [Lesion] { base.map { $0.scaled(s) } }
        func burden(_ lesions: [Lesion]) -> Double {
            var inside = 0
            for p in liverCentres where lesions.contains(where: { $0.contains(p) }) { inside += 1 }
            return 100 * Double(inside) / Double(liverCentres.count)
        }
        if let target = spec.htbPercent, !base.isEmpty {
            var lo = 0.01, hi = 1.0
            while burden(scaled(hi)) < target && hi < 100 {
                lo = hi
                hi *= 2
            }
            for _ in 0..<30 {
                let mid = (lo + hi) / 2
                if burden(scaled(mid)) < target { lo = mid } else { hi = mid }
            }
            anatomy.lesions = scaled(hi)
        } else {
            anatomy.lesions = base
        }
        // Dome lesions bulge the liver's surface (`Anatomy.domeLesions`); `--htb` was reached
        // without the bulges, so the truth's HTB lies a little above it.
        if !domeCentres.isEmpty {
            anatomy.domeLesions = leftCount..<min(anatomy.lesions.count, leftCount + (spec.domeLesions ?? 0))
        }
        // A follow-up: the baseline's lesions (drawn above exactly as for the baseline) scaled in
        // volume, new ones added away from them, then the body moved (sampled at p - shift).
        var shift = bodyShiftMM
        var drawn = anatomy.lesions.count
        var drawnLesions: [Lesion] = []
        if let f = spec.followUp {
            guard f.scale >= 0, f.scale <= 20 else { throw PhantomError.invalidSpec("--scale must be 0 to 20") }
            guard (0...50).contains(f.newLesions) else {
                throw PhantomError.invalidSpec("--new-lesions must be 0 to 50")
            }
            guard [f.shiftMM.x, f.shiftMM.y, f.shiftMM.z].allSatisfy({ abs($0) <= 100 }) else {
                throw PhantomError.invalidSpec("--shift-mm must be within 100 mm on each axis")
            }
            let grown = max(1, cbrt(f.scale))
            var g = SeededGenerator(seed: spec.seed ^ 0x0F01_1055_0BAD_CAFE)
            var added = 0, tries = 0
            while added < f.newLesions && tries < 10_000 {
                tries += 1
                let c = liverCentres[Int(g.next() % UInt64(liverCentres.count))]
                let r = exp(g.uniform(log(4.0), log(10.0)))
                // Clear (by 5 mm) of every lesion at the larger of its two sizes, and of the new ones;
                // inside the liver all round.
                guard
                    anatomy.lesions.enumerated().allSatisfy({
                        $0.element.distance(c) > $0.element.radiusMM * ($0.offset < base.count ? grown : 1) + r + 5
                    }),
                    [Vector3(r, 0, 0), Vector3(-r, 0, 0), Vector3(0, r, 0), Vector3(0, -r, 0)].allSatisfy({
                        anatomy.inTruthLiver(c + $0)
                    })
                else { continue }
                anatomy.lesions.append(
                    Lesion(center: c, radiusMM: r, enhancement: kinds[added % kinds.count], rimMM: 0))
                added += 1
            }
            guard added == f.newLesions else {
                throw PhantomError.invalidSpec(
                    "no room for \(f.newLesions) new lesions in this liver (placed \(added))")
            }
            drawnLesions = Array(anatomy.lesions.prefix(base.count))
            anatomy.lesions = anatomy.lesions.enumerated().map {
                $0.offset < base.count ? $0.element.scaled(cbrt(f.scale)) : $0.element
            }
            shift = f.shiftMM + bodyShiftMM
            drawn = base.count
        }

        // Labels by voxel centre; CT by 2x2x2 supersampling (partial volume) plus correlated noise.
        let dims = geometry.dims
        let perSlice = dims.sliceCount
        var labels = [UInt8](repeating: 0, count: dims.count)
        var hu = [Int16](repeating: 0, count: dims.count)
        let model = anatomy
        let noise = spec.noiseHU, seed = spec.seed ^ noiseSalt, sampleShift = shift
        try labels.withUnsafeMutableBufferPointer { lb in
            try hu.withUnsafeMutableBufferPointer { hb in
                let L = UncheckedSendable(lb), H = UncheckedSendable(hb)
                let results = parallelMap(dims.z) { k in
                    var g = SeededGenerator(seed: seed &* 0x9e3779b97f4a7c15 &+ UInt64(k) &+ 1)
                    var white = [Double](repeating: 0, count: perSlice)
                    for v in 0..<perSlice { white[v] = g.gaussian() }
                    for j in 0..<n {
                        for i in 0..<n {
                            let v = i + n * j
                            let centre = geometry.positionMM(Double(i), Double(j), Double(k)) - sampleShift
                            L.value[k * perSlice + v] = model.label(centre)
                            var sum = 0.0
                            for dk in [-0.25, 0.25] {
                                for dj in [-0.25, 0.25] {
                                    for di in [-0.25, 0.25] {
                                        sum += model.hu(
                                            geometry.positionMM(Double(i) + di, Double(j) + dj, Double(k) + dk)
                                                - sampleShift)
                                    }
                                }
                            }
                            // 3x3 box-filtered white noise: spatially correlated, scaled back to `noise` SD.
                            var nsum = 0.0
                            for b in max(0, j - 1)...min(n - 1, j + 1) {
                                for a in max(0, i - 1)...min(n - 1, i + 1) { nsum += white[a + n * b] }
                            }
                            let value = sum / 8 + (sum / 8 > -990 ? nsum / 3 * noise : 0)
                            H.value[k * perSlice + v] = Int16(max(-1024, min(3071, value.rounded())))
                        }
                    }
                }
                for r in results { if case .failure(let e) = r { throw e } }
            }
        }
        let labelVolume = Volume(voxels: labels, geometry: geometry)
        let liverVoxels = labels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let lesionVoxels = labels.reduce(0) { $0 + ($1 == 2 ? 1 : 0) }
        var lesionMask = labelVolume
        for v in 0..<lesionMask.voxels.count { lesionMask.voxels[v] = labels[v] == 2 ? 1 : 0 }
        let comps = components(of: lesionMask, connectivity: .full26)
        let vmm3 = geometry.voxelVolumeMM3
        let htb = liverVoxels > 0 ? 100 * Double(lesionVoxels) / Double(liverVoxels) : 0
        var truth = PhantomTruth(
            command: spec.command, spec: spec, dims: dims, spacingMM: geometry.spacingMM, voxelVolumeMM3: vmm3,
            liverVoxels: liverVoxels, lesionVoxels: lesionVoxels,
            liverVolumeML: Double(liverVoxels) * vmm3 / 1000,
            parenchymaVolumeML: Double(liverVoxels - lesionVoxels) * vmm3 / 1000,
            lesionVolumeML: Double(lesionVoxels) * vmm3 / 1000, htbPercent: htb,
            category: HTBCategory(percent: htb).rawValue, lesionCount: comps.count,
            lesionVolumesML: comps.voxels.map { Double($0.count) * vmm3 / 1000 })
        if spec.followUp != nil {
            truth.followUp = try Self.followUpTruth(
                spec: spec, baseline: baseline?.spec == spec.baseline ? baseline : nil, drawnLesions: drawnLesions,
                lesions: Array(anatomy.lesions), drawn: drawn, shift: shift, labels: comps.labels)
        }
        return Phantom(spec: spec, ct: Volume(voxels: hu, geometry: geometry), labels: labelVolume, truth: truth)
    }

    /// Which baseline lesion became which follow-up lesion: each drawn lesion's centre is looked
    /// up in the baseline's lesion components and, moved by the shift, in the follow-up's. New
    /// lesions (after the first `drawn`) name follow-up lesions made of them alone.
    static func followUpTruth(
        spec: PhantomSpec, baseline: Phantom?, drawnLesions: [Lesion], lesions: [Lesion], drawn: Int, shift: Vector3,
        labels: Volume<UInt16>
    ) throws -> PhantomTruth.FollowUpTruth {
        let b = try baseline ?? Phantom.build(spec.baseline)
        var bMask = Mask(repeating: 0, geometry: b.labels.geometry)
        for v in 0..<bMask.voxels.count where b.labels.voxels[v] == 2 { bMask.voxels[v] = 1 }
        let bLabels = components(of: bMask, connectivity: .full26).labels
        /// The components (of `l`) holding a voxel whose centre, moved back by `by`, lies in `lesion`.
        func touched(_ l: Volume<UInt16>, _ lesion: Lesion, by: Vector3) -> Set<Int> {
            let g = l.geometry, d = g.dims
            var reach = lesion.radiusMM
            for b in lesion.lobes { reach = max(reach, b.offset.length + b.radiusMM) }
            if let t = lesion.sleeve { reach = max(reach, max(t.a.length, t.b.length) + t.radiusMM) }
            let c = g.index(of: lesion.center + by)
            let r = (reach / g.spacingMM.x + 1, reach / g.spacingMM.y + 1, reach / g.spacingMM.z + 1)
            var out = Set<Int>()
            for k in max(0, Int(c.z - r.2))...min(d.z - 1, max(0, Int(c.z + r.2))) {
                for j in max(0, Int(c.y - r.1))...min(d.y - 1, max(0, Int(c.y + r.1))) {
                    for i in max(0, Int(c.x - r.0))...min(d.x - 1, max(0, Int(c.x + r.0))) {
                        let v = Int(l.voxels[i + d.x * (j + d.y * k)])
                        if v > 0, lesion.contains(g.positionMM(Double(i), Double(j), Double(k)) - by) { out.insert(v) }
                    }
                }
            }
            return out
        }
        var pairs = Set<[Int]>(), fromOld = Set<Int>(), fromNew = Set<Int>()
        for (n, l) in lesions.enumerated() {
            let f = touched(labels, l, by: shift)
            if n < drawn {
                // The baseline drew it unscaled.
                for bl in touched(bLabels, drawnLesions[n], by: Vector3(0, 0, 0)) {
                    for fl in f { pairs.insert([bl, fl]) }
                }
                fromOld.formUnion(f)
            } else {
                fromNew.formUnion(f)
            }
        }
        var whole = Mask(repeating: 0, geometry: labels.geometry), lesionMask = whole
        for v in 0..<labels.voxels.count where labels.voxels[v] != 0 { lesionMask.voxels[v] = 1 }
        for v in 0..<labels.voxels.count { whole.voxels[v] = 1 }
        let diameters =
            lesionMask.insideCount > 0
            ? try Volumetry.measure(liver: whole, lesions: lesionMask).lesions.map(\.diameters.longestMM) : []
        let matchedB = Set(pairs.map { $0[0] })
        let bCount = Int(bLabels.voxels.max() ?? 0)
        return PhantomTruth.FollowUpTruth(
            baselineCommand: spec.baseline.command, baselineLesionVolumeML: b.truth.lesionVolumeML,
            baselineLesionVolumesML: b.truth.lesionVolumesML, baselineLiverVolumeML: b.truth.liverVolumeML,
            pairs: pairs.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) },
            newLesions: fromNew.subtracting(fromOld).sorted(),
            goneLesions: (1...max(1, bCount)).filter { bCount > 0 && !matchedB.contains($0) },
            lesionLongestAxialDiametersMM: diameters)
    }

    /// An irregular lesion from a round one (same centre, same overall size): 45 % lobulated (two
    /// to four lobules of 0.45-0.75 x its radius on its surface), 25 % confluent (a second mass of
    /// 0.6-0.95 x its radius, 0.8-1.2 radii away: two lesions grown into one), 30 % sleeved
    /// along the nearest intrahepatic vessel (the ball shrunk to 0.8, a capsule of 0.55 x the
    /// radius running 1.5-2.5 radii each way along the vessel's axis: a lesion elongated like
    /// the vessel it touches). No rim.
    static func irregular(_ round: Lesion, anatomy: Anatomy, rng: inout SeededGenerator) -> Lesion {
        var l = round
        l.rimMM = 0
        let r = round.radiusMM
        func direction() -> Vector3 { Vector3(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)).normalized }
        let kind = rng.uniform()
        if kind < 0.45 {
            let n = 2 + Int(rng.next() % 3)
            l.lobes = (0..<n).map { _ in
                Lesion.Lobe(offset: direction() * (r * rng.uniform(0.7, 1.0)), radiusMM: r * rng.uniform(0.45, 0.75))
            }
        } else if kind < 0.7 {
            l.lobes = [
                Lesion.Lobe(offset: direction() * (r * rng.uniform(0.8, 1.2)), radiusMM: r * rng.uniform(0.6, 0.95))
            ]
        } else {
            // The nearest vessel axis; the lesion's centre moves onto it.
            var best: (distance: Double, point: Vector3, axis: Vector3)?
            for t in anatomy.portalVeins.dropFirst() + anatomy.hepaticVeins {
                let ab = t.b - t.a
                let s = max(0, min(1, (round.center - t.a).dot(ab) / ab.dot(ab)))
                let q = t.a + ab * s
                let d = (round.center - q).length
                if best == nil || d < best!.distance { best = (d, q, ab.normalized) }
            }
            if let b = best, b.distance < 40 {
                l.center = b.point
                l.radiusMM = 0.8 * r
                let half = r * rng.uniform(1.5, 2.5)
                l.sleeve = Lesion.Sleeve(a: b.axis * -half, b: b.axis * half, radiusMM: 0.55 * r)
            } else {
                l.lobes = [Lesion.Lobe(offset: direction() * r, radiusMM: 0.7 * r)]
            }
        }
        return l
    }

    /// Writes `DIR/ct/IM*.dcm`, `DIR/truth/labels.nii.gz` (0 outside, 1 liver, 2 lesion),
    /// `DIR/truth/seg.dcm` (segment 1 "Liver" = whole liver, then "Lesion 1"... one per connected
    /// lesion, largest first) and `DIR/truth.json`.
    public func write(to dir: String) throws {
        let s = "\(spec.seed)"
        var identity = SeriesIdentity(
            patientName: "PHANTOM^HTB", patientID: "PHANTOM-\(s)",
            studyUID: UIDFactory.deterministic("study", spec.command),
            seriesUID: UIDFactory.deterministic("series", spec.command),
            frameOfReferenceUID: UIDFactory.deterministic("for", spec.command),
            // A follow-up is a later study of the same patient (same Patient ID, new UIDs from its command).
            studyDate: spec.followUp == nil ? "20260101" : "20260401", seriesNumber: 2,
            seriesDescription:
                "Phantom \(Self.phaseAbbreviation[spec.phase]!) abdomen",
            studyDescription: "htb synthetic liver phantom",
            instanceUID: { [command = spec.command] k in UIDFactory.deterministic("instance", command, "\(k)") })
        do {
            try FileManager.default.createDirectory(atPath: dir + "/truth", withIntermediateDirectories: true)
            try SeriesWriter.writeCT(ct, identity: identity, to: dir + "/ct")
            try NIfTIWriter.write(
                labels: labels, to: dir + "/truth/labels.nii.gz", description: "htb phantom truth: liver 1, lesion 2")
            try writeSegmentation(ctFolder: dir + "/ct", to: dir + "/truth/seg.dcm")
            // Sibling phases after the SEG (which takes the one series then in ct/).
            for (n, phase) in (spec.siblingPhases ?? []).enumerated() {
                let sibling = try siblingPhase(phase, number: n)
                identity.seriesUID = UIDFactory.deterministic("series", spec.command, phase.rawValue)
                identity.seriesNumber = 3 + n
                identity.seriesDescription = "Phantom \(Self.phaseAbbreviation[phase]!) abdomen"
                identity.instanceUID = { [command = spec.command] k in
                    UIDFactory.deterministic("instance", command, phase.rawValue, "\(k)")
                }
                try SeriesWriter.writeCT(sibling.ct, identity: identity, to: dir + "/ct/" + phase.rawValue)
            }
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try e.encode(truth).write(to: URL(fileURLWithPath: dir + "/truth.json"), options: .atomic)
        } catch let error as DicomError {
            throw error
        } catch let error as PhantomError {
            throw error
        } catch let error as NIfTIError {
            throw error
        } catch {
            throw PhantomError.cannotWrite(path: dir, reason: "\(error)")
        }
    }

    static let phaseAbbreviation: [ContrastPhase: String] = [.portal: "PV", .arterial: "ART", .delayed: "DELAY"]

    /// The same anatomy in `phase`, with its own noise draw and the breath-hold's shift; without
    /// a shift its labels are this phantom's (checked).
    func siblingPhase(_ phase: ContrastPhase, number n: Int) throws -> Phantom {
        var s = spec
        (s.phase, s.siblingPhases, s.siblingShiftMM) = (phase, nil, nil)
        let z = spec.siblingShiftMM ?? 0
        let sibling = try Self.build(
            s, baseline: nil, noiseSalt: 0x9E37_79B9_7F4A_7C15 &* UInt64(n + 1), bodyShiftMM: Vector3(0, 0, z))
        guard z != 0 || sibling.labels.voxels == labels.voxels else {
            throw PhantomError.invalidSpec("the \(phase.rawValue) phase's anatomy differs from the measured phase's")
        }
        return sibling
    }

    /// The truth as a DICOM SEG over the CT just written (read back, so the references are what is on disk).
    func writeSegmentation(ctFolder: String, to path: String) throws {
        let inventory = try Inventory.scan(ctFolder)
        guard let entry = inventory.imageSeries().first else {
            throw PhantomError.cannotWrite(path: ctFolder, reason: "the CT just written cannot be read back")
        }
        let layout = try SeriesLayout(entry: entry)
        var whole = labels, lesionMask = labels
        for v in 0..<labels.voxels.count {
            whole.voxels[v] = labels.voxels[v] != 0 ? 1 : 0
            lesionMask.voxels[v] = labels.voxels[v] == 2 ? 1 : 0
        }
        let name = "htb synth \(htbPhantomVersion) (phantom truth)"
        var segments = [
            SegmentToWrite(
                label: "Liver", category: .anatomicalStructure, type: .liver, algorithmType: "AUTOMATIC",
                algorithmName: name, cielab: [56000, 48000, 42000], mask: whole.withGeometry(layout.geometry))
        ]
        let comps = components(of: lesionMask, connectivity: .full26)
        for (n, voxels) in comps.voxels.enumerated() {
            var m = Mask(repeating: 0, geometry: layout.geometry)
            for v in voxels { m.voxels[v] = 1 }
            segments.append(
                SegmentToWrite(
                    label: "Lesion \(n + 1)", category: .morphologicallyAbnormal, type: .neoplasm,
                    algorithmType: "AUTOMATIC", algorithmName: name, cielab: [50000, 20000, 50000], mask: m))
        }
        try SegmentationWriter.write(
            segments, source: layout, to: path, seriesNumber: 300, seriesDescription: "Phantom truth",
            contentLabel: "TRUTH", seriesUID: UIDFactory.deterministic("seg-series", spec.command),
            instanceUID: UIDFactory.deterministic("seg-instance", spec.command),
            date: Date(timeIntervalSince1970: 1_767_225_600))
    }
}

/// Version of the phantom model; bump it whenever the anatomy changes the pixels or the truth
/// (v4: the IVC, aorta and spine are never liver in the truth, as they never were in the image;
/// v5: the heart is a myocardial wall around enhanced blood, no longer one uniform density).
public let htbPhantomVersion = "5"
