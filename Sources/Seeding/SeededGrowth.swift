import Evaluation
import Filters
import Foundation
import VolumeModel
import Volumetry

/// What became of one seed (or one excluded point): reported in report.json, never dropped.
public struct SeedOutcome: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// A lesion was grown from the seed.
        case grown
        /// The seed lies outside the liver mask (automatic or given).
        case outsideLiver = "outside_liver"
        /// The tissue around the seed does not differ from the parenchyma.
        case noLesion = "no_lesion"
        /// `--exclude-lesion`: the automatic lesion at the point was removed.
        case excluded
        /// `--exclude-lesion`: no automatic lesion within reach of the point.
        case notFound = "not_found"
    }
    public var seed: LesionSeed
    public var status: Status
    public var message: String
    /// The lesion grown or removed (mL).
    public var volumeML: Double?
    /// Median HU within 2.5 mm of the seed (smoothed), and the parenchyma's mode and robust SD.
    public var seedHU: Double?
    public var parenchymaHU: Double?
    public var parenchymaSDHU: Double?
    /// The phase the lesion was grown on when it was not the measured series (another phase of
    /// the session, resampled onto its grid): its name (the series' description or key); the
    /// seed HU, parenchyma and SD above are then that phase's.
    public var phase: String?
    /// How far the seed's tissue stood out on each phase looked at, measured series first: its
    /// difference from the parenchyma over the least a lesion's may be (max(2.5 SD, 10 HU));
    /// 1 or more is a lesion.
    public var contrastByPhase: [PhaseContrast]?

    public struct PhaseContrast: Sendable, Equatable, Codable {
        public var phase: String
        public var ratio: Double
    }

    enum CodingKeys: String, CodingKey {
        case seed, status, message, phase
        case volumeML = "volume_ml"
        case seedHU = "seed_hu"
        case parenchymaHU = "parenchyma_hu"
        case parenchymaSDHU = "parenchyma_sd_hu"
        case contrastByPhase = "contrast_by_phase"
    }
}

/// One click, one lesion. From a seed inside the liver, the lesion is the connected tissue on the
/// seed's side of the edge between the seed's tissue and the parenchyma:
///
/// 1. The parenchyma is the liver's most frequent value (histogram mode of the whole liver), unless
///    that value is no adult parenchyma's (50-160 HU): then the liver is tumour-dominated and the
///    parenchyma is its largest histogram peak within that range (`parenchyma(of:liver:)`); its
///    spread the robust SD of the box's liver voxels 3 mm inside the liver's edge (away from
///    partial volume with fat), at the scale in use (`Parenchyma.noiseSD`).
/// 2. The seed's tissue is the median within 2.5 mm of the seed, after Gaussian smoothing within
///    the liver (normalised convolution: the fat beside it does not blur in) at the finest of 1, 2
///    and 3 mm where it differs from the parenchyma by at least max(2.5 SD, 10 HU)
///    (noise falls with smoothing; a lesion's core keeps its contrast while the scale is small
///    beside it). At none: there is no lesion there, said, not guessed.
/// 3. The edge: where the blurred step between two tissues crosses half way (the
///    partial-volume midpoint), but no farther than 3 SD from the parenchyma, so that a lesion
///    whose seed lies in a necrotic or enhancing core keeps its less extreme rim, and no nearer
///    than 1.5 SD, so that noise does not join parenchyma. On the other side: a hypodense lesion
///    goes down to its seed's value less the contrast again (fat in a fissure stays outside), an
///    enhancing one up to its seed's value plus half the contrast (at least 2 SD): the brighter
///    contrast-filled vessels stay outside.
/// 4. The connected region of those voxels inside the liver that holds the seed, opened by
///    reconstruction: eroded by half the seed's depth (at most 3 mm), the part holding the seed
///    kept and grown back within the region; vessels and fissures thinner than that, which join
///    a lesion to its neighbours, are cut.
/// 5. Holes filled (3D, then slice by slice): a necrotic core, a calcification or a vessel
///    enclosed by the lesion is lesion, as an expert contours it.
/// 6. A hypodense lesion takes in its low-contrast margin (`rim`): tissue darker than the
///    parenchyma beyond what the core's own blur explains; holes are filled again.
/// 7. And its enhancing wall (`enhancingRing`) when bright tissue lies along most of its surface.
/// 8. The lesion's envelope: closed by a quarter of its equivalent radius (at most 5 mm) within
///    the liver, holes filled: a mottled tumour's patches near the parenchyma's value lie inside
///    the outline an expert draws (`envelopeClosingMM`).
///
/// The box starts 40 mm around the seed and doubles while the lesion reaches its side.
///
/// With other phases of the session (resampled onto the grid by the caller), each seed's lesion is
/// grown on the phase where step 2's contrast is highest, unless the measured series shows it
/// at `clearContrast` or more (docs/seeded-lesions.md, "Other phases of the session").
public enum SeededGrowth {
    /// The method's identifier in reports (mask inputs of source "seeded").
    public static let method = "htb-seeded/6"
    /// Gaussian scales tried in turn (mm): the finest at which the seed's tissue differs from
    /// the parenchyma by more than its noise is used (noise falls with smoothing; a lesion's core
    /// keeps its contrast while the scale is small beside it).
    public static let smoothingScalesMM = [1.0, 2.0, 3.0]
    public static let seedRadiusMM = 2.5
    /// A seed whose tissue differs from the parenchyma by at least this many times the least a
    /// lesion's may (5 SD at the default 2.5) is grown on the measured series, whatever the other
    /// phases show: its edge there is clear, and another phase adds what breathing left between
    /// the two acquisitions and its own extent of enhancement (an arterial lesion's halo).
    public static let clearContrast = 2.0
    public static let minimumContrastSD = 2.5
    public static let minimumContrastHU = 10.0
    public static let edgeMinSD = 1.5
    public static let edgeMaxSD = 3.0
    public static let rimMM = 3.0
    public static let maximumCutMM = 3.0
    public static let boxHalfWidthsMM = [40.0, 80.0, 160.0, 320.0]
    /// A seed within this distance of the liver counts as on its edge (it is moved inside).
    public static let liverReachMM = 2.0
    /// Below this HU a point is in air (outside the body or in the lung): never a lesion.
    public static let airHU: Int16 = -500

    public struct Result: Sendable {
        /// All grown lesions united, on the CT's grid.
        public var lesions: Mask
        /// Each seed's voxels (offsets on the CT's grid; empty when nothing was grown).
        public var voxels: [[Int]]
        public var outcomes: [SeedOutcome]
    }

    /// Another phase of the session on the measured series' grid (resampled, breathing
    /// corrected by the caller); `covered` marks where it has data.
    public struct Phase: Sendable {
        public var name: String
        public var image: CTVolume
        public var covered: Mask
        public init(name: String, image: CTVolume, covered: Mask) {
            self.name = name
            self.image = image
            self.covered = covered
        }
        /// True when the phase has data over every voxel of `liver` (the only phases looked at).
        public func covers(_ liver: Mask) -> Bool {
            !zip(liver.voxels, covered.voxels).contains { $0 != 0 && $1 == 0 }
        }
    }

    /// Checks that every seed lies on the grid and not in air (a usage error otherwise), then
    /// grows one lesion from each inside `liver` (the whole liver: parenchyma and lesions).
    /// With other `phases` (each covering the whole liver), each seed's lesion is grown on the
    /// phase where its tissue stands out most from the parenchyma (a lesion that washes out in one
    /// phase often enhances in another), when on the measured series it stands out less than
    /// `clearContrast` times the least a lesion's may; the measured series wins ties.
    public static func grow(ct: CTVolume, liver: Mask, seeds: [LesionSeed], phases: [Phase] = []) throws -> Result {
        let g = ct.geometry
        let points = try seeds.map { try voxel(of: $0, in: ct) }
        var out = Mask(repeating: 0, geometry: g)
        guard !seeds.isEmpty else { return Result(lesions: out, voxels: [], outcomes: []) }
        // The measured series first; a phase is used only where it covers the whole liver.
        var images: [(name: String?, ct: CTVolume, parenchyma: Parenchyma?, rimNoise: Double?)] = [
            (nil, ct, parenchyma(of: ct, liver: liver), nil)
        ]
        for p in phases where p.image.geometry == g && p.covers(liver) {
            images.append((p.name, p.image, parenchyma(of: p.image, liver: liver), nil))
        }
        var voxels: [[Int]] = [], outcomes: [SeedOutcome] = []
        for (seed, p) in zip(seeds, points) {
            var use = 0
            var contrasts: [SeedOutcome.PhaseContrast] = []
            if images.count > 1 {
                for (n, image) in images.enumerated() {
                    let r = standOut(at: p, ct: image.ct, liver: liver, parenchyma: image.parenchyma)
                    contrasts.append(.init(phase: image.name ?? "measured", ratio: (r * 100).rounded() / 100))
                    if contrasts[0].ratio < clearContrast && r > contrasts[use].ratio { use = n }
                }
            }
            var (grown, outcome) = growOne(
                seed, at: p, ct: images[use].ct, liver: liver, parenchyma: images[use].parenchyma,
                rimNoiseSD: &images[use].rimNoise, phase: images[use].name, contrasts: contrasts)
            if let note = images[use].parenchyma?.note { outcome.message += " (\(note))" }
            for v in grown { out.voxels[v] = 1 }
            voxels.append(grown)
            outcomes.append(outcome)
        }
        return Result(lesions: out, voxels: voxels, outcomes: outcomes)
    }

    /// How far the tissue within 2.5 mm of the seed stands out of the parenchyma in `ct`: its
    /// largest difference from the parenchyma over the scales (`smoothingScalesMM`), divided by
    /// the least a lesion's may be at that scale (max(2.5 SD, 10 HU)); 0 outside the liver.
    static func standOut(at p: (Int, Int, Int), ct: CTVolume, liver full: Mask, parenchyma: Parenchyma?) -> Double {
        guard let parenchyma else { return 0 }
        let box = VoxelBox(lo: p, dims: Dims(1, 1, 1)).expanded(byMM: boxHalfWidthsMM[0], in: ct.geometry)
        let liver = full.cropped(to: box)
        let s = (p.0 - box.lo.x, p.1 - box.lo.y, p.2 - box.lo.z)
        guard let seedVoxel = nearest(in: liver, to: s, withinMM: liverReachMM) else { return 0 }
        let inner = innerLiver(liver)
        let near = ball(around: seedVoxel, radiusMM: seedRadiusMM, in: liver.geometry).filter { liver.voxels[$0] != 0 }
        let part = ct.cropped(to: box)
        return smoothingScalesMM.map { sigma in
            let look = contrastAt(
                Filters.gaussian(part, sigmaMM: sigma, within: liver), near: near, inner: inner,
                parenchyma: parenchyma)
            return abs(look.seedHU - parenchyma.hu) / look.needed
        }.max() ?? 0
    }

    /// The liver 3 mm inside its edge (away from partial volume with the fat around it), where
    /// the parenchyma's spread is measured; the whole liver when that leaves too little.
    static func innerLiver(_ liver: Mask) -> Mask {
        let e = Filters.erode(liver, radiusMM: rimMM)
        return e.insideCount > 100 ? e : liver
    }

    /// The seed's tissue (median over `near`) and the parenchyma's SD (within `inner`) in one
    /// smoothed image, and the least difference a lesion's tissue may have there.
    static func contrastAt(_ smooth: Volume<Float>, near: [Int], inner: Mask, parenchyma: Parenchyma) -> (
        seedHU: Double, sd: Double, needed: Double
    ) {
        let seedHU = Double(Filters.median(near.map { smooth.voxels[$0] }))
        let sd = parenchyma.noiseSD(smooth, within: inner)
        return (seedHU, sd, max(minimumContrastSD * sd, minimumContrastHU))
    }

    /// The seed's voxel (i, j, k), or why it cannot be a lesion's.
    static func voxel(of seed: LesionSeed, in ct: CTVolume) throws -> (Int, Int, Int) {
        let g = ct.geometry, d = g.dims
        let c = g.index(of: seed.positionMM)
        let i = Int(c.x.rounded()), j = Int(c.y.rounded()), k = Int(c.z.rounded())
        guard (0..<d.x).contains(i), (0..<d.y).contains(j), (0..<d.z).contains(k) else {
            let lo = g.positionMM(0, 0, 0), hi = g.positionMM(Double(d.x - 1), Double(d.y - 1), Double(d.z - 1))
            throw SeedError.misplaced(
                source: seed.source,
                reason:
                    "\(seed.positionMM) mm (LPS) lies outside the series' grid (voxel index \(String(format: "%.1f, %.1f, %.1f", c.x, c.y, c.z)); "
                    + "the grid \(d) spans \(lo) to \(hi) mm)")
        }
        let hu = ct[i, j, k]
        guard hu > airHU else {
            throw SeedError.misplaced(
                source: seed.source,
                reason:
                    "\(seed.positionMM) mm (LPS) lies in air (\(hu) HU at voxel \(i), \(j), \(k)): outside the body or in the lung"
            )
        }
        return (i, j, k)
    }

    /// The least share of the liver (within 10 HU of its value) a parenchyma peak holds.
    public static let minimumParenchymaPeakShare = 0.05

    /// The parenchyma's HU: the most frequent value of the liver (1 HU bins, 7 HU window), unless
    /// that value is no adult parenchyma's (`LiverTissue.plausibleParenchymaHU`): in a tumour-dominated
    /// liver the most frequent tissue is tumour (a hypodense mass at 45 HU, an arterial
    /// hyper-enhancing one at 185 HU), and the parenchyma is the largest histogram peak within
    /// the plausible range that holds at least `minimumParenchymaPeakShare` of the liver. `note`
    /// says so when that happened (nil otherwise).
    static func parenchyma(of ct: CTVolume, liver: Mask) -> Parenchyma? {
        var h = [Int](repeating: 0, count: 501)
        var total = 0
        for v in 0..<ct.voxels.count where liver.voxels[v] != 0 {
            let x = Int(ct.voxels[v]) + 100
            if x >= 0 && x < h.count {
                h[x] += 1
                total += 1
            }
        }
        let window = (0..<h.count).map { b in b < 3 || b >= h.count - 3 ? 0 : h[(b - 3)...(b + 3)].reduce(0, +) }
        guard let best = window.indices.max(by: { window[$0] < window[$1] }), window[best] > 0 else { return nil }
        let mode = Double(best - 100)
        let plausible = LiverTissue.plausibleParenchymaHU
        guard !plausible.contains(mode) else { return Parenchyma(hu: mode) }
        // Peaks within the plausible range: local maxima of the windowed histogram (over 3 HU
        // each side) holding enough of the liver within 10 HU.
        let lo = Int(plausible.lowerBound) + 100, hi = Int(plausible.upperBound) + 100
        let peak = (lo...hi).filter { b in
            let around = max(0, b - 3)...min(h.count - 1, b + 3)
            let held = h[max(0, b - 10)...min(h.count - 1, b + 10)].reduce(0, +)
            return around.allSatisfy { window[$0] <= window[b] }
                && Double(held) >= minimumParenchymaPeakShare * Double(total)
        }.max { window[$0] < window[$1] }
        guard let peak else { return Parenchyma(hu: mode) }
        let hu = Double(peak - 100)
        return Parenchyma(
            hu: hu, tumourHU: mode,
            note: String(
                format:
                    "the liver's most frequent value, %.0f HU, is no adult parenchyma's (%.0f-%.0f HU): tumour-dominated; the parenchyma is its peak at %.0f HU",
                mode, plausible.lowerBound, plausible.upperBound, hu))
    }

    /// The parenchyma's value; in a tumour-dominated liver also the tumour's (the liver's most
    /// frequent value), and why.
    struct Parenchyma: Sendable {
        var hu: Double
        var tumourHU: Double?
        /// Said in every seed's message when the parenchyma is not the liver's most frequent value.
        var note: String?

        /// The parenchyma's noise SD in `smooth` over `inner`: 1.4826 x the median absolute
        /// deviation from its value; in a tumour-dominated liver the tumour and its blurred edges
        /// outnumber the parenchyma near that value, so the SD comes from the parenchyma's
        /// histogram peak on its side away from the tumour: half width at half maximum / 1.1774.
        func noiseSD(_ smooth: Volume<Float>, within inner: Mask) -> Double {
            guard let tumourHU else {
                return Double(Filters.medianAbsoluteDeviationSD(smooth, within: inner, around: Float(hu)))
            }
            var h = [Int](repeating: 0, count: 201)
            for v in 0..<smooth.voxels.count where inner.voxels[v] != 0 {
                let b = Int((Double(smooth.voxels[v]) - hu + 100).rounded())
                if b >= 0 && b < h.count { h[b] += 1 }
            }
            let counts = h.indices.map { b in Double(h[max(0, b - 1)...min(h.count - 1, b + 1)].reduce(0, +)) / 3 }
            guard let top = (90...110).max(by: { counts[$0] < counts[$1] }), counts[top] > 0 else { return 0 }
            let away = hu >= tumourHU ? 1 : -1
            var b = top
            while b + away >= 0 && b + away < counts.count && counts[b + away] >= counts[top] / 2 { b += away }
            // Linear between the last bin at or above half the peak and the next below it.
            let next = b + away
            var halfWidth = Double(abs(b - top))
            if next >= 0 && next < counts.count && counts[b] > counts[next] {
                halfWidth += (counts[b] - counts[top] / 2) / (counts[b] - counts[next])
            }
            return halfWidth / 1.1774
        }
    }

    /// The parenchyma's noise at the rim's scale over the liver (robust SD of the liver at least
    /// 3 sigma inside its edge, smoothed within the liver only): a box around one large lesion
    /// may hold more lesion and margin than parenchyma, which would inflate a local estimate. The
    /// middle half of the liver's slices is enough (hundreds of thousands of voxels; the liver's
    /// texture does not change from top to bottom) and takes half the time. Sub-millimetre
    /// pixels are averaged in 2 x 2 blocks first (a quarter of the work; a block of at most 2 mm
    /// adds under 0.6 mm of blur in quadrature: 1 mm becomes at most 1.16 mm). "Inside" is where
    /// the liver's own smoothed indicator is 1 (the kernel, cut at 3 sigma, lies wholly in the
    /// liver): no distance map needed.
    static func rimNoiseSD(_ ct: CTVolume, liver: Mask, parenchyma: Parenchyma) -> Double {
        guard var box = liver.boundingBox else { return 0 }
        let quarter = box.dims.z / 4
        box = VoxelBox(
            lo: (box.lo.x, box.lo.y, box.lo.z + quarter), dims: Dims(box.dims.x, box.dims.y, box.dims.z - 2 * quarter))
        let sp = ct.geometry.spacingMM
        let f = max(sp.x, sp.y) < 1 ? 2 : 1
        let part = Filters.downsample(liver.cropped(to: box), factor: f)
        let image = Filters.downsample(ct.cropped(to: box), factor: f)
        let (smooth, weight) = Filters.normalisedGaussian(
            Volume(voxels: image.voxels.map(Float.init), geometry: image.geometry), sigmaMM: rimSigmaMM, within: part)
        var inner = Mask(repeating: 0, geometry: part.geometry)
        for v in 0..<part.voxels.count where part.voxels[v] != 0 && weight.voxels[v] > 0.999 { inner.voxels[v] = 1 }
        return parenchyma.noiseSD(smooth, within: inner)
    }

    static func growOne(
        _ seed: LesionSeed, at p: (Int, Int, Int), ct: CTVolume, liver: Mask, parenchyma: Parenchyma?,
        rimNoiseSD rimNoise: inout Double?, phase: String?, contrasts: [SeedOutcome.PhaseContrast]
    ) -> ([Int], SeedOutcome) {
        let (voxels, first) = growOne(
            seed, at: p, ct: ct, liver: liver, parenchyma: parenchyma, rimNoiseSD: &rimNoise)
        var outcome = first
        guard !contrasts.isEmpty, outcome.status != .outsideLiver else { return (voxels, outcome) }
        // Where other phases were looked at, the outcome says which was used and why.
        outcome.phase = phase
        outcome.contrastByPhase = contrasts
        let list = contrasts.map { String(format: "%@ %.2f", $0.phase, $0.ratio) }.joined(separator: ", ")
        outcome.message +=
            " (" + (phase.map { "grown on phase \($0)" } ?? "on the measured series")
            + "; the seed's contrast over the least a lesion's, by phase: \(list))"
        return (voxels, outcome)
    }

    static func growOne(
        _ seed: LesionSeed, at p: (Int, Int, Int), ct: CTVolume, liver: Mask, parenchyma: Parenchyma?,
        rimNoiseSD rimNoise: inout Double?
    ) -> ([Int], SeedOutcome) {
        var outcome = SeedOutcome(seed: seed, status: .noLesion, message: "")
        guard let parenchyma else {
            outcome.status = .outsideLiver
            outcome.message = "the liver mask is empty"
            return ([], outcome)
        }
        let parenchymaHU = parenchyma.hu
        outcome.parenchymaHU = parenchymaHU
        var last: [Int] = []
        for half in boxHalfWidthsMM {
            let box = VoxelBox(lo: p, dims: Dims(1, 1, 1)).expanded(byMM: half, in: ct.geometry)
            let step = growWithin(
                box, seed: p, ct: ct, liver: liver, parenchyma: parenchyma, rimNoiseSD: &rimNoise,
                outcome: &outcome)
            guard let step else { return ([], outcome) }
            last = step.voxels
            if !step.reachesBoxSide { break }
        }
        outcome.status = .grown
        outcome.volumeML = Double(last.count) * ct.geometry.voxelVolumeMM3 / 1000
        outcome.message = String(
            format: "%@ lesion of %.2f mL grown: %.0f HU at the seed, parenchyma %.0f ± %.0f HU",
            (outcome.seedHU ?? 0) < parenchymaHU ? "hypodense" : "hyperdense", outcome.volumeML!,
            outcome.seedHU ?? 0, parenchymaHU, outcome.parenchymaSDHU ?? 0)
        return (last, outcome)
    }

    struct Step {
        var voxels: [Int]
        var reachesBoxSide: Bool
    }

    /// One growth within `box`; nil with the outcome filled when there is no lesion to grow.
    static func growWithin(
        _ box: VoxelBox, seed p: (Int, Int, Int), ct: CTVolume, liver full: Mask, parenchyma: Parenchyma,
        rimNoiseSD rimNoise: inout Double?, outcome: inout SeedOutcome
    ) -> Step? {
        let liver = full.cropped(to: box), parenchymaHU = parenchyma.hu
        let g = liver.geometry, d = g.dims, sp = g.spacingMM
        let s = (p.0 - box.lo.x, p.1 - box.lo.y, p.2 - box.lo.z)
        // A seed a voxel or two outside the liver's edge is moved to the nearest liver voxel.
        guard let seedVoxel = nearest(in: liver, to: s, withinMM: liverReachMM) else {
            outcome.status = .outsideLiver
            outcome.message =
                "the seed lies outside the liver mask (\(ct[p.0, p.1, p.2]) HU there): no lesion grown; check the liver on the overlays"
            return nil
        }
        let part = ct.cropped(to: box)
        // Each scale smoothed once, within the liver (normalised convolution): the fat beside the
        // liver does not blur into its edge, which would darken a shell the width of the kernel
        // into a hypodense seed's band (a small lesion under the surface then ran along it, 300 mL
        // and more) and hide an enhancing lesion at the surface.
        var smoothed: [Double: Volume<Float>] = [:]
        func smoothing(_ sigma: Double) -> Volume<Float> {
            if let v = smoothed[sigma] { return v }
            let v = Filters.gaussian(part, sigmaMM: sigma, within: liver)
            smoothed[sigma] = v
            return v
        }
        // The parenchyma's spread is measured 3 mm inside the liver's edge (as `innerLiver`); the
        // margin and wall steps use the liver less its partial-volume layer (one distance map).
        let erosions = Filters.erode(liver, radiiMM: [rimMM, partialVolumeMM])
        let inner = erosions[0].insideCount > 100 ? erosions[0] : liver
        let near = ball(around: seedVoxel, radiusMM: seedRadiusMM, in: g).filter { liver.voxels[$0] != 0 }
        // The finest scale at which the seed's tissue stands out of the parenchyma's noise.
        var chosen: (smooth: Volume<Float>, seedHU: Double, sd: Double)?
        var finest: (seedHU: Double, sd: Double, needed: Double)?
        for sigma in smoothingScalesMM {
            let smooth = smoothing(sigma)
            let look = contrastAt(smooth, near: near, inner: inner, parenchyma: parenchyma)
            if finest == nil { finest = look }
            if abs(look.seedHU - parenchymaHU) >= look.needed {
                chosen = (smooth, look.seedHU, look.sd)
                break
            }
        }
        guard let (smooth, seedHU, sd) = chosen else {
            let f = finest!
            outcome.seedHU = (f.seedHU * 10).rounded() / 10
            outcome.parenchymaSDHU = (f.sd * 10).rounded() / 10
            outcome.status = .noLesion
            outcome.message = String(
                format:
                    "no lesion around the seed: %.0f HU there, the parenchyma %.0f ± %.0f HU (a lesion differs by at least %.0f HU, or by 2.5 SD after smoothing up to %.0f mm)",
                f.seedHU, parenchymaHU, f.sd, f.needed, smoothingScalesMM.last!)
            return nil
        }
        outcome.seedHU = (seedHU * 10).rounded() / 10
        outcome.parenchymaSDHU = (sd * 10).rounded() / 10
        let contrast = seedHU - parenchymaHU
        let sign = contrast < 0 ? -1.0 : 1.0
        let edge = min(max(abs(contrast) / 2, edgeMinSD * sd), edgeMaxSD * sd, abs(contrast))
        // Beyond the seed's value: for a hypodense lesion down to fat; an enhancing one stops half its
        // contrast above its own value, below the brighter contrast-filled vessels.
        let inner_ = parenchymaHU + sign * edge
        let outer = seedHU + sign * (sign < 0 ? max(abs(contrast), edgeMaxSD * sd) : max(abs(contrast) / 2, 2 * sd))
        let lo = Float(min(inner_, outer)), hi = Float(max(inner_, outer))
        var band = Mask(repeating: 0, geometry: g)
        for v in 0..<band.voxels.count where liver.voxels[v] != 0 && smooth.voxels[v] >= lo && smooth.voxels[v] <= hi {
            band.voxels[v] = 1
        }
        // The seed's region (the seed voxel, or the nearest band voxel within the seed's ball).
        let start = band.voxels[seedVoxel] != 0 ? seedVoxel : near.first { band.voxels[$0] != 0 }
        guard let start else {
            outcome.status = .noLesion
            outcome.message = String(
                format:
                    "no lesion around the seed: %.0f HU there, but no voxel within %.1f mm between %.0f and %.0f HU",
                seedHU, seedRadiusMM, lo, hi)
            return nil
        }
        var region = connected(band, from: [start])
        // Opening by reconstruction: cut what is thinner than twice the cut radius.
        let depth2 = Filters.squaredDistanceMM2(to: region.inverted(), capMM2: 10_000).voxels
        let seedDepth = Double(near.map { region.voxels[$0] != 0 ? depth2[$0] : 0 }.max() ?? 0).squareRoot()
        let cut = min(maximumCutMM, seedDepth / 2)
        if cut >= min(sp.x, sp.y, sp.z) {
            var core = Mask(repeating: 0, geometry: g)
            for v in 0..<core.voxels.count where Double(depth2[v]) > cut * cut { core.voxels[v] = 1 }
            let deepest = near.max { depth2[$0] < depth2[$1] }!
            if core.voxels[deepest] != 0 {
                let kept = connected(core, from: [deepest])
                let grown = Filters.dilate(kept, radiusMM: cut + 0.5 * max(sp.x, sp.y))
                for v in 0..<region.voxels.count where grown.voxels[v] == 0 { region.voxels[v] = 0 }
                region = connected(region, from: [deepest])
            }
        }
        region = fillHoles(region)
        if rimReachMM > 0 && sign < 0 {
            if rimNoise == nil { rimNoise = rimNoiseSD(ct, liver: full, parenchyma: parenchyma) }
            // The rim is looked for in the liver less its partial-volume layer (whose voxels hold
            // fat as well), smoothed within that.
            let body = erosions[1]
            let coarse = Filters.gaussian(part, sigmaMM: rimSigmaMM, within: body)
            region = fillHoles(
                rim(
                    around: region, coarse: coarse, liver: body, noiseSD: rimNoise!, parenchymaHU: parenchymaHU,
                    coreHU: meanHU(part, over: region)))
            region = enhancingRing(
                around: region, coarse: coarse, liver: body,
                brighterThan: parenchymaHU + max(minimumContrastSD * rimNoise!, minimumContrastHU))
        }
        // A heterogeneous lesion's patches are outlined as one (step 8).
        let closeMM = envelopeClosingMM(region)
        if closeMM >= min(sp.x, sp.y) {
            var closed = Filters.close(region, radiusMM: closeMM)
            for v in 0..<closed.voxels.count where liver.voxels[v] == 0 { closed.voxels[v] = 0 }
            // The closing's erosion counts beyond the box as outside: the region's voxels on the
            // box's edge come back through the union.
            region = fillHoles(closed.union(region))
        }
        var voxels: [Int] = [], reaches = false
        for v in 0..<region.voxels.count where region.voxels[v] != 0 && liver.voxels[v] != 0 {
            voxels.append(box.global(v, in: ct.geometry.dims))
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            if (i == 0 && box.lo.x > 0) || (j == 0 && box.lo.y > 0) || (k == 0 && box.lo.z > 0)
                || (i == d.x - 1 && box.lo.x + d.x < ct.dims.x) || (j == d.y - 1 && box.lo.y + d.y < ct.dims.y)
                || (k == d.z - 1 && box.lo.z + d.z < ct.dims.z)
            {
                reaches = true
            }
        }
        return Step(voxels: voxels, reachesBoxSide: reaches)
    }

    /// Step 8: necrosis and mixed enhancement leave a tumour mottled, patches of it near the
    /// parenchyma's value between the ones that stand out, and an expert outlines the whole
    /// tumour. The grown region is closed by a quarter of its equivalent sphere's radius (gaps
    /// that narrow, relative to its size, lie within one lesion; a small lesion is not joined to
    /// tissue beside it), at most `maximumEnvelopeClosingMM`, within the liver, and its holes
    /// filled again.
    public static let maximumEnvelopeClosingMM = 5.0

    /// The closing radius of step 8 for `region` (mm).
    static func envelopeClosingMM(_ region: Mask) -> Double {
        let equivalentRadiusMM = cbrt(3 * region.volumeML * 1000 / (4 * Double.pi))
        return min(maximumEnvelopeClosingMM, equivalentRadiusMM / 4)
    }

    /// The margin step (hypodense lesions): reach from the core, scale (the finest of the seed
    /// step's: the core's own blur reaches least there) and contrast.
    public static let rimReachMM = 10.0
    public static let rimSigmaMM = 1.0
    public static let rimSD = 1.5
    /// The liver's outer layer whose voxels are part fat (partial volume).
    public static let partialVolumeMM = 1.5

    /// A hypodense lesion's low-contrast margin (a target lesion's halo, a viable margin around a
    /// necrotic core, the infiltrative edge an expert contours out to where the tissue is
    /// parenchyma again): at `rimSigmaMM`, liver voxels connected to the core that lie more than
    /// 1.5 SD below what the core alone would give there (the parenchyma plus the core's
    /// contrast times its own blurred outline: beside a sharp edge the blur darkens the
    /// parenchyma over about two sigma, and that is not tissue), no farther from the core than
    /// 10 mm or the core's own radius (equivalent sphere; darker tissue farther out is another
    /// structure). The smoothing is a normalised convolution within the liver less its
    /// partial-volume layer, so the fat around the liver does not darken its edge and a lesion on
    /// the liver's surface keeps its margin there; the SD is the whole liver's at that scale
    /// (`rimNoiseSD`). Enhancing lesions get no margin step: the bright structures around them
    /// are vessels.
    static func rim(
        around core: Mask, coarse: Volume<Float>, liver: Mask, noiseSD sd: Double, parenchymaHU: Double,
        coreHU: Double
    ) -> Mask {
        // What the core alone would look like at this scale: its own blur darkens the
        // parenchyma beside a sharp edge over about two sigma, which is not a rim.
        let indicator = Volume<Float>(voxels: core.voxels.map { $0 != 0 ? 1 : 0 }, geometry: core.geometry)
        let blurred = Filters.gaussian(indicator, sigmaMM: rimSigmaMM, within: liver)
        // A margin is no wider than the lesion's own radius (equivalent sphere): darker tissue
        // farther out is another structure (a perfusion difference, a neighbour).
        let coreMM3 = Double(core.insideCount) * core.geometry.voxelVolumeMM3
        let reach = Filters.dilate(core, radiusMM: min(rimReachMM, cbrt(3 * coreMM3 / (4 * Double.pi))))
        var candidate = core
        for v in 0..<candidate.voxels.count where reach.voxels[v] != 0 && liver.voxels[v] != 0 {
            let expected = parenchymaHU + (coreHU - parenchymaHU) * Double(blurred.voxels[v])
            if Double(coarse.voxels[v]) < expected - rimSD * sd { candidate.voxels[v] = 1 }
        }
        // Connected to the core.
        guard let start = core.voxels.firstIndex(where: { $0 != 0 }) else { return core }
        return connected(candidate, from: [start])
    }

    /// A hypodense lesion's enhancing ring (peripheral rim enhancement, common in metastases):
    /// when bright tissue (above `brighterThan` at the rim's scale) lies within `ringMM` of most
    /// of the lesion's surface, it is the lesion's own wall: the bright tissue connected to it
    /// within twice that reach joins the lesion, and the partial-volume gap between the dark core
    /// and its wall (where the two average to the parenchyma's value) is closed. A vessel
    /// passing by covers a small part of the surface and is left out.
    static func enhancingRing(around region: Mask, coarse: Volume<Float>, liver: Mask, brighterThan: Double) -> Mask {
        let limit = Float(brighterThan)
        var bright = Mask(repeating: 0, geometry: region.geometry)
        for v in 0..<bright.voxels.count where liver.voxels[v] != 0 && region.voxels[v] == 0 && coarse.voxels[v] > limit
        {
            bright.voxels[v] = 1
        }
        guard bright.insideCount > 0 else { return region }
        let toBright = Filters.squaredDistanceMM2(to: bright, capMM2: Float(4 * ringMM * ringMM)).voxels
        let onSurface = Metrics.surface(region)
        var surface = 0, covered = 0
        for v in 0..<region.voxels.count where onSurface.voxels[v] != 0 {
            surface += 1
            if Double(toBright[v]) <= ringMM * ringMM { covered += 1 }
        }
        guard surface > 0, Double(covered) >= ringCoverage * Double(surface) else { return region }
        // The wall: bright tissue within twice the reach, connected to that within the reach (one
        // distance map from the lesion for both).
        let toRegion = Filters.squaredDistanceMM2(to: region, capMM2: Float(4 * ringMM * ringMM) + 1).voxels
        var wallArea = bright
        for v in 0..<wallArea.voxels.count where Double(toRegion[v]) > 4 * ringMM * ringMM { wallArea.voxels[v] = 0 }
        let starts = (0..<bright.voxels.count).filter {
            bright.voxels[$0] != 0 && Double(toRegion[$0]) <= ringMM * ringMM
        }
        var out = connected(wallArea, from: starts)
        for v in 0..<out.voxels.count where region.voxels[v] != 0 { out.voxels[v] = 1 }
        let closed = Filters.close(out, radiusMM: ringMM / 2)
        for v in 0..<out.voxels.count where closed.voxels[v] != 0 && liver.voxels[v] != 0 { out.voxels[v] = 1 }
        return fillHoles(out)
    }

    /// The enhancing ring's reach from the lesion's surface and the share of the surface it must
    /// cover to be the lesion's wall.
    public static let ringMM = 4.0
    public static let ringCoverage = 0.5

    /// The mean unsmoothed HU over a region (its tissue's value: smoothing would pull a small
    /// lesion's towards the parenchyma).
    static func meanHU(_ ct: CTVolume, over m: Mask) -> Double {
        var sum = 0.0, n = 0
        for v in 0..<m.voxels.count where m.voxels[v] != 0 {
            sum += Double(ct.voxels[v])
            n += 1
        }
        return n == 0 ? 0 : sum / Double(n)
    }

    /// Offsets within `radiusMM` of voxel `c` (nearest first).
    static func ball(around c: Int, radiusMM r: Double, in g: Geometry) -> [Int] {
        let d = g.dims, sp = g.spacingMM
        let ci = c % d.x, cj = (c / d.x) % d.y, ck = c / d.sliceCount
        let ri = Int(r / sp.x), rj = Int(r / sp.y), rk = Int(r / sp.z)
        var out: [(Double, Int)] = []
        for k in max(0, ck - rk)...min(d.z - 1, ck + rk) {
            for j in max(0, cj - rj)...min(d.y - 1, cj + rj) {
                for i in max(0, ci - ri)...min(d.x - 1, ci + ri) {
                    let dx = Double(i - ci) * sp.x, dy = Double(j - cj) * sp.y, dz = Double(k - ck) * sp.z
                    let d2 = dx * dx + dy * dy + dz * dz
                    if d2 <= r * r { out.append((d2, i + d.x * (j + d.y * k))) }
                }
            }
        }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The nearest inside voxel of `m` to `s` within `withinMM`, or nil.
    static func nearest(in m: Mask, to s: (Int, Int, Int), withinMM r: Double) -> Int? {
        let d = m.dims
        let c = s.0 + d.x * (s.1 + d.y * s.2)
        return ball(around: c, radiusMM: max(r, 0), in: m.geometry).first { m.voxels[$0] != 0 }
    }

    /// The 6-connected region of `m` holding the voxels `starts` (those inside `m`).
    static func connected(_ m: Mask, from starts: [Int]) -> Mask {
        var out = Mask(repeating: 0, geometry: m.geometry)
        let d = m.dims
        var stack = starts.filter { m.voxels[$0] != 0 }
        for v in stack { out.voxels[v] = 1 }
        while let v = stack.popLast() {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (ok, n) in [
                (i > 0, v - 1), (i < d.x - 1, v + 1), (j > 0, v - d.x), (j < d.y - 1, v + d.x),
                (k > 0, v - d.sliceCount), (k < d.z - 1, v + d.sliceCount),
            ] where ok && m.voxels[n] != 0 && out.voxels[n] == 0 {
                out.voxels[n] = 1
                stack.append(n)
            }
        }
        return out
    }

    /// Background regions not reaching the side of the lesion's box grown by a voxel (3D), then
    /// per slice, become inside.
    static func fillHoles(_ m: Mask) -> Mask {
        guard let box = m.boundingBox?.expanded(byMM: 0, in: m.geometry) else { return m }
        let part = m.cropped(to: box)
        let d = part.dims
        let border = (0..<part.voxels.count).filter { v in
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            return i == 0 || j == 0 || k == 0 || i == d.x - 1 || j == d.y - 1 || k == d.z - 1
        }
        let outside = connected(part.inverted(), from: border)
        return m.pasting(Filters.fillHolesPerSlice(outside.inverted()), at: box)
    }
}
