import Filters
import Foundation
import VolumeModel
import Volumetry

/// Hypodense lesions too faint for the lesion step's scale, found at a coarser one.
///
/// The lesion step thresholds the CT smoothed by 2 mm at 2 SD of the parenchyma's texture at that
/// scale. A lesion 15-25 HU darker than the parenchyma (a washed-out lesion in the delayed phase,
/// any lesion in a fatty liver) lies within that band: its core is missed, or only its darkest
/// voxels are found (sweep seeds 1-12: 0.48 of the truth's lesion volume on the delayed and fatty
/// specs lies inside the automatic liver, unfound). Smoothing more lowers the texture's SD (its
/// grain is finer than a lesion; 11 HU at 2 mm, 4-5 HU at 4 mm on the sweep) while a lesion
/// larger than the kernel keeps its contrast. So, within the liver (a normalised convolution over
/// the liver less its outer voxel, so the fat beyond does not darken its edge):
///
/// 1. the parenchyma's mode and robust SD at `sigmaMM`, away from the lesions found;
/// 2. regions below mode - max(2.5 SD, 8 HU) there, 2 voxels or more from a lesion found, at
///    least a sphere of 4 sigma's diameter (16 mm, 2.1 mL: a smaller lesion loses contrast to the
///    smoothing, and a smaller region is the kernel's blur of a smaller dark structure; such
///    lesions are the 2 mm step's), no more elongated than the lesion step's seeds (vessels,
///    fissures);
/// 3. a region is a lesion when part of it lies 5 SD below the mode at that scale, 2 sigma (8 mm)
///    or more inside the liver: the Rose criterion for an object seen against noise (regions at
///    3-4 SD are the texture's own troughs: on the sweep they held no lesion), away from the
///    edge's partial volume and the hilum's fat (HCC 0697 with its contrast lowered by 20 %: a
///    crescent along the posterior surface and the tissue beside the porta, 40 mL, without it);
/// 4. its extent at the lesion step's 2 mm: the voxels within 2 voxels of it, connected to it,
///    darker than half way between the mode and the region's median (where a blurred edge
///    crosses).
///
/// Hyper-enhancing lesions near the lesion step's bright threshold (max(3 SD, 20 HU) at 2 mm)
/// break into noisy fragments there, which its shape test rejects (low seed 14: a 338 mL lesion
/// 40 HU above the parenchyma found over 17 % of it). The same search runs on the bright side,
/// after the dark one, with three more tests, because bright tissue in the liver is mostly
/// enhanced vessels, which the 4 mm scale blurs into regions too:
///
/// - solid: the region fills at least half its principal-axes ellipsoid (the exophytic stage's
///   test); a vessel tree is a network of branches with gaps between them;
/// - at least `brightMinimumRegionML`: larger than the liver's vessel confluences (the portal
///   vein's bifurcation with its first branches, 12-15 mm wide, is about 10-15 mL);
/// - its centre not in the body's left lateral part (`Neighbours.minimumLateralShare`): there a
///   bright region is the spleen that an outline took in (brighter than a fatty parenchyma), as
///   the neighbour-organ stage and the review's `liver_in_left_lateral_abdomen` read it.
enum FaintLesions {
    static let sigmaMM = 4.0
    static let regionContrastSD: Float = 2.5
    static let minimumContrastHU: Float = 8
    static let coreContrastSD: Float = 5
    /// The core must lie this many sigmas inside the liver: nearer its edge the coarse scale
    /// still mixes in the edge's partial volume (5 mm slices: the posterior surface, oblique to
    /// them, reads darker over several millimetres) and the hilum's fat.
    static let coreDepthSigmas = 2.0
    /// A sphere of 4 sigma's diameter.
    static let minimumRegionML = Double.pi / 6 * pow(4 * sigmaMM, 3) / 1000
    /// A faint bright region smaller than this may be a vessel confluence.
    static let brightMinimumRegionML = 30.0

    /// The lesions to add (inside `liver`, apart from `lesions`), on the liver's grid: faint
    /// hypodense ones, then faint hyper-enhancing ones (apart from those); `body` places the
    /// body's left lateral part.
    static func find(_ ct: CTVolume, liver: Mask, lesions: Mask, body: Mask) -> Mask {
        let empty = Mask(repeating: 0, geometry: liver.geometry)
        guard let box = liver.boundingBox?.expanded(byMM: 2 * sigmaMM, in: ct.geometry) else { return empty }
        let localLiver = liver.cropped(to: box)
        var scales = Scales(ct.cropped(to: box), liver: localLiver)
        let dark = within(&scales, liver: localLiver, lesions: lesions.cropped(to: box))
        let bright = within(
            &scales, liver: localLiver, lesions: lesions.cropped(to: box).union(dark), bright: true,
            lateralLimitXMM: Neighbours.lateralLimitXMM(body))
        let added = dark.union(bright)
        return added.insideCount == 0 ? empty : empty.pasting(added, at: box)
    }

    /// The CT at both scales within the liver less its outer voxel (normalised convolutions),
    /// and the depth in the liver: computed once for both sides' searches (the 2 mm scale only
    /// when a region is found).
    struct Scales {
        /// The CT's box, kept as stored (16 bits) until the 2 mm scale is asked for.
        let ct: CTVolume
        let support: Mask
        let coarse: Volume<Float>
        /// Squared depth in the liver (mm^2 to the nearest voxel outside it), up to 2 sigma.
        let depth2: Volume<Float>
        private var fineScale: Volume<Float>?

        init(_ ct: CTVolume, liver: Mask) {
            let g = ct.geometry
            self.ct = ct
            support = Filters.erode(liver, radiusMM: max(g.spacingMM.x, g.spacingMM.y))
            coarse = Filters.gaussian(Self.values(ct), sigmaMM: sigmaMM, within: support)
            depth2 = Filters.squaredDistanceMM2(to: liver.inverted(), capMM2: FaintLesions.coreDepthMM2 + 1)
        }

        static func values(_ ct: CTVolume) -> Volume<Float> {
            Volume(voxels: ct.voxels.map(Float.init), geometry: ct.geometry)
        }

        /// The lesion step's 2 mm scale.
        mutating func fine() -> Volume<Float> {
            if let f = fineScale { return f }
            let f = Filters.gaussian(Self.values(ct), sigmaMM: LesionSegmenter.smoothingSigmaMM, within: support)
            fineScale = f
            return f
        }
    }

    static let coreDepthMM2 = Float(coreDepthSigmas * sigmaMM * coreDepthSigmas * sigmaMM)

    /// One side's search (`bright`: above the mode) in a box around the liver.
    static func within(
        _ scales: inout Scales, liver: Mask, lesions: Mask, bright: Bool = false, lateralLimitXMM: Double? = nil
    ) -> Mask {
        let g = liver.geometry
        // The dark side's comparisons, mirrored for the bright one.
        let sign: Float = bright ? -1 : 1
        var added = Mask(repeating: 0, geometry: g)
        let voxelMM = max(g.spacingMM.x, g.spacingMM.y)
        let support = scales.support, coarse = scales.coarse
        let near = Filters.dilate(lesions, radiusMM: 2 * voxelMM)
        var reference = Filters.erode(liver, radiusMM: 2 * voxelMM)
        for v in 0..<reference.voxels.count where near.voxels[v] != 0 { reference.voxels[v] = 0 }
        guard reference.insideCount >= 100,
            let (mode, sd) = Filters.mode(coarse, within: reference, lo: -50, hi: 250)
        else { return added }
        let threshold = mode - sign * max(regionContrastSD * sd, minimumContrastHU)
        let core = mode - sign * coreContrastSD * sd
        var region = Mask(repeating: 0, geometry: g)
        for v in 0..<region.voxels.count
        where support.voxels[v] != 0 && near.voxels[v] == 0 && sign * coarse.voxels[v] < sign * threshold {
            region.voxels[v] = 1
        }
        let minimumVoxels = minimumRegionML * 1000 / g.voxelVolumeMM3
        let depth2 = scales.depth2
        let brightMinimumVoxels = brightMinimumRegionML * 1000 / g.voxelVolumeMM3
        let candidates = components(of: region, connectivity: .faces6).voxels.filter { c in
            Double(c.count) >= minimumVoxels
                && c.contains { sign * coarse.voxels[$0] < sign * core && depth2.voxels[$0] >= coreDepthMM2 }
                && LesionSegmenter.elongation(c, g) <= LesionSegmenter.maximumElongation
                && (!bright
                    || isSolidBrightMass(c, g, minimumVoxels: brightMinimumVoxels, lateralLimitXMM: lateralLimitXMM))
        }
        guard !candidates.isEmpty else { return added }
        let fine = scales.fine()
        for c in candidates {
            let values = c.map { fine.voxels[$0] }
            // Water density is bile or a cyst (the gallbladder an outline closed around), not a
            // faint lesion: a faint lesion lies near the parenchyma's value. Judged on the
            // structure's own value, not the region's: the 4 mm scale spreads a dark structure's
            // edge over several millimetres of parenchyma, which the region holds too.
            guard bright || ownValue(values, mode: mode) >= AutoSegmentation.fluidCeilingHU else { continue }
            var seed = Mask(repeating: 0, geometry: g)
            for v in c { seed.voxels[v] = 1 }
            let edge = (mode + Filters.median(values)) / 2
            var zone = Filters.dilate(seed, radiusMM: 2 * voxelMM)
            for v in 0..<zone.voxels.count
            where seed.voxels[v] == 0 && (support.voxels[v] == 0 || sign * fine.voxels[v] >= sign * edge) {
                zone.voxels[v] = 0
            }
            for part in components(of: zone, connectivity: .faces6).voxels
            where part.contains(where: { seed.voxels[$0] != 0 }) {
                for v in part { added.voxels[v] = 1 }
            }
        }
        return added
    }

    /// A dark region's own value at the 2 mm scale: the median of its values nearer water's
    /// density than the parenchyma's (below the midpoint of `mode` and `fluidCeilingHU`), where a
    /// blurred edge between the two crosses: a water-filled structure's own voxels; a faint
    /// lesion has almost none there. The region's median instead mixes in the halo that the 4 mm
    /// scale spreads around a dark structure, about as wide as the kernel: a gallbladder at 10 HU
    /// that the outline enclosed came with as much parenchyma around it (fine seed 1 of the
    /// phantom sweep: region median 59 HU).
    static func ownValue(_ values: [Float], mode: Float) -> Float {
        let midpoint = (mode + AutoSegmentation.fluidCeilingHU) / 2
        let inner = values.filter { $0 < midpoint }
        return Filters.median(inner.isEmpty ? values : inner)
    }

    /// The bright side's extra tests: large enough, solid, and not centred in the body's left
    /// lateral part.
    static func isSolidBrightMass(_ c: [Int], _ g: Geometry, minimumVoxels: Double, lateralLimitXMM: Double?) -> Bool {
        guard Double(c.count) >= minimumVoxels, LesionSegmenter.fill(c, g) >= ExophyticLesions.minimumFill else {
            return false
        }
        guard let limit = lateralLimitXMM else { return true }
        let m = LesionSegmenter.meanIndex(c, g.dims)
        return g.positionMM(m.i, m.j, m.k).x <= limit
    }
}
