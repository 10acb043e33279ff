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

    /// The lesions to add (inside `liver`, apart from `lesions`), on the liver's grid.
    static func find(_ ct: CTVolume, liver: Mask, lesions: Mask) -> Mask {
        let empty = Mask(repeating: 0, geometry: liver.geometry)
        guard let box = liver.boundingBox?.expanded(byMM: 2 * sigmaMM, in: ct.geometry) else { return empty }
        let added = within(ct.cropped(to: box), liver: liver.cropped(to: box), lesions: lesions.cropped(to: box))
        return added.insideCount == 0 ? empty : empty.pasting(added, at: box)
    }

    static func within(_ ct: CTVolume, liver: Mask, lesions: Mask) -> Mask {
        let g = ct.geometry
        var added = Mask(repeating: 0, geometry: g)
        let voxelMM = max(g.spacingMM.x, g.spacingMM.y)
        let support = Filters.erode(liver, radiusMM: voxelMM)
        let values = Volume(voxels: ct.voxels.map(Float.init), geometry: g)
        let coarse = Filters.gaussian(values, sigmaMM: sigmaMM, within: support)
        let near = Filters.dilate(lesions, radiusMM: 2 * voxelMM)
        var reference = Filters.erode(liver, radiusMM: 2 * voxelMM)
        for v in 0..<reference.voxels.count where near.voxels[v] != 0 { reference.voxels[v] = 0 }
        guard reference.insideCount >= 100,
            let (mode, sd) = Filters.mode(coarse, within: reference, lo: -50, hi: 250)
        else { return added }
        let threshold = mode - max(regionContrastSD * sd, minimumContrastHU)
        let core = mode - coreContrastSD * sd
        var region = Mask(repeating: 0, geometry: g)
        for v in 0..<region.voxels.count
        where support.voxels[v] != 0 && near.voxels[v] == 0 && coarse.voxels[v] < threshold {
            region.voxels[v] = 1
        }
        let minimumVoxels = minimumRegionML * 1000 / g.voxelVolumeMM3
        // Depth in the liver (mm to the nearest voxel outside it), up to 2 sigma.
        let coreDepthMM2 = Float(coreDepthSigmas * sigmaMM * coreDepthSigmas * sigmaMM)
        let depth2 = Filters.squaredDistanceMM2(to: liver.inverted(), capMM2: coreDepthMM2 + 1)
        let candidates = components(of: region, connectivity: .faces6).voxels.filter { c in
            Double(c.count) >= minimumVoxels
                && c.contains { coarse.voxels[$0] < core && depth2.voxels[$0] >= coreDepthMM2 }
                && LesionSegmenter.elongation(c, g) <= LesionSegmenter.maximumElongation
        }
        guard !candidates.isEmpty else { return added }
        let fine = Filters.gaussian(values, sigmaMM: LesionSegmenter.smoothingSigmaMM, within: support)
        for c in candidates {
            // Water density is bile or a cyst (the gallbladder an outline closed around), not a
            // faint lesion: a faint lesion lies near the parenchyma's value.
            guard Filters.median(c.map { fine.voxels[$0] }) >= AutoSegmentation.fluidCeilingHU else { continue }
            var seed = Mask(repeating: 0, geometry: g)
            for v in c { seed.voxels[v] = 1 }
            let edge = (mode + Filters.median(c.map { fine.voxels[$0] })) / 2
            var zone = Filters.dilate(seed, radiusMM: 2 * voxelMM)
            for v in 0..<zone.voxels.count
            where seed.voxels[v] == 0 && (support.voxels[v] == 0 || fine.voxels[v] >= edge) {
                zone.voxels[v] = 0
            }
            for part in components(of: zone, connectivity: .faces6).voxels
            where part.contains(where: { seed.voxels[$0] != 0 }) {
                for v in part { added.voxels[v] = 1 }
            }
        }
        return added
    }
}
