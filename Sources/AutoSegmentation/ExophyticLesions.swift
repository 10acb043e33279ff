import Filters
import Foundation
import VolumeModel
import Volumetry

/// Hypodense lesions that end a lobe or bulge out of the liver beyond its outline (exophytic).
///
/// A lesion that replaces the tip of a lobe is not enclosed by parenchyma in any slice, and where
/// it spans more slices than the surface step's wide slab (+-15 mm) it also lies beyond every
/// slice's hull of the liver; and where the dark band joins it to the abdominal wall's muscle it
/// is no compact region the surface step would take (stomach seed 4's made one 730 mL network
/// with the wall at that step's 2 mm depth). The liver
/// and its HTB then lose the whole lesion (the failure-class phantoms' lobe-ending lesions of
/// 25-350 mL: 3-19 HTB points each). Candidates are the surface step's dark tissue (darker than
/// the parenchyma by max(2 SD, 10 HU), above 30 HU so that bile, fluid and fat stay out) outside
/// the liver, searched without a hull up to `marginMM` beyond the liver's box.
///
/// A lesion is a solid mass; what else is dark there (the abdominal wall's muscle, the crura,
/// bowel and the stomach's wall) is a sheet or a tube joined to a network. So the dark tissue is
/// opened by `depthMM` (voxels more than that deep, grown back by as much within it: sheets and
/// tubes thinner than twice that vanish, and a lesion is cut from the wall it touches), and each
/// mass left is taken when it holds at least `minimumMassML`, is no more elongated than
/// `maximumElongation`, fills at least `minimumFill` of its principal-axes ellipsoid and faces the
/// liver over at least `minimumContact` of its boundary (it ends the lobe rather than lying beside
/// it). Accepted masses join the liver and are lesions as found (`AutoSegmentation`).
enum ExophyticLesions {
    /// The search reaches this far beyond the liver's box: a lobe-ending lesion lies beyond it.
    static let marginMM = 40.0
    /// Opening radius: a mass thicker than twice this (16 mm) is thicker than the abdominal
    /// wall's muscle sheets, the crura and a bowel wall.
    static let depthMM = 8.0
    /// Below this a mass is left to the reader: the sweep's lateral wall bulges (3-8 mL) passed
    /// every other test, and a 10 mL lesion missed costs at most 0.7 HTB points in a 1.5 L liver.
    static let minimumMassML = 10.0
    /// A mass is round: the lesion step's seeds allow 2.5 inside the liver; out here, where the
    /// neighbours are long, a stricter 2.
    static let maximumElongation = 2.0
    /// A solid, not a network: half its ellipsoid at least (the surface step's cores need 0.25).
    static let minimumFill = 0.5
    /// A lobe-ending lesion meets the lobe over one face: 5.5-11 % of its boundary on the
    /// phantoms; masses not touching the liver (bowel beside HCC 1720's liver) 0.
    static let minimumContact = 0.05

    /// The masses found, on the liver's grid (outside `liver`).
    static func find(_ ct: CTVolume, body: Mask, liver: Mask) -> Mask {
        let empty = Mask(repeating: 0, geometry: liver.geometry)
        guard let box = liver.boundingBox?.expanded(byMM: marginMM, in: ct.geometry) else { return empty }
        let added = within(ct.cropped(to: box), body: body.cropped(to: box), liver: liver.cropped(to: box))
        return added.insideCount == 0 ? empty : empty.pasting(added, at: box)
    }

    /// On a grid cropped around the liver: the voxels to add.
    static func within(_ ct: CTVolume, body: Mask, liver: Mask) -> Mask {
        let g = ct.geometry, d = g.dims
        var added = Mask(repeating: 0, geometry: g)
        guard let dark = SurfaceLesions.darkTissue(ct, body: body, liver: liver)?.dark else { return added }
        let minimumVoxels = minimumMassML * 1000 / g.voxelVolumeMM3
        for core in components(of: Filters.erode(dark, radiusMM: depthMM), connectivity: .faces6).voxels {
            // The solid mass the core stands for: the core opened back within the dark tissue.
            guard
                let box = VoxelBox.enclosing(core, in: d)?.expanded(
                    byMM: depthMM + max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z), in: g)
            else { continue }
            let localDark = dark.cropped(to: box), localLiver = liver.cropped(to: box)
            var region = Mask(repeating: 0, geometry: localDark.geometry)
            for v in core { region.voxels[box.local(v, in: d)] = 1 }
            region = Filters.dilate(region, radiusMM: depthMM)
            for v in 0..<region.voxels.count where localDark.voxels[v] == 0 { region.voxels[v] = 0 }
            let voxels = (0..<region.voxels.count).filter { region.voxels[$0] != 0 }.map { box.global($0, in: d) }
            let n = Double(voxels.count)
            let elongation = LesionSegmenter.elongation(voxels, g)
            let fill = LesionSegmenter.fill(voxels, g), touching = SurfaceLesions.contact(region, with: localLiver)
            guard n >= minimumVoxels, elongation <= maximumElongation,
                fill >= minimumFill, touching >= minimumContact
            else { continue }
            for v in voxels { added.voxels[v] = 1 }
        }
        return added
    }
}
