import Filters
import Foundation
import VolumeModel
import Volumetry

/// A lobe cut off from the liver by a lesion at its surface.
///
/// The liver step keeps one core of parenchyma. A lobe that meets the rest of the liver only
/// through a large lesion (a left lobe beyond a tumour in segment 4, common in metastatic
/// livers) has a core of its own and is left out, and with it the part of the lesion outside the
/// remaining liver's outline. Each other core of at least 5 mL is regrown by 26 mm within the
/// band (outside the liver); it joins the liver when at least 0.3 mL of it lies within 3 mm of
/// tissue the surface step added (dark, compact, in the liver's outline, facing it): parenchyma
/// separated from the liver only by such a lesion is liver. Touching the liver's parenchyma is
/// not enough (the heart, the spleen and the kidneys meet it at parenchyma density), nor touching
/// any lesion the lesion step found (tried: the heart joined through a lesion at the dome on two
/// real cases); the surface step's lesions are large and sit in the organ's own outline.
enum DetachedLobes {
    static let regrowMM = 26.0
    static let contactMM = 3.0
    static let minimumCoreML = 5.0
    static let minimumContactML = 0.3

    /// The regions to add (on the liver's grid), and their volume in mL.
    static func find(band: Mask, cores: [[Int]], liver: Mask, surface: Mask) -> (lobes: Mask, addedML: Double) {
        let g = band.geometry
        var added = Mask(repeating: 0, geometry: g)
        guard surface.insideCount > 0 else { return (added, 0) }
        let minimumVoxels = minimumCoreML * 1000 / g.voxelVolumeMM3
        let minimumContact = minimumContactML * 1000 / g.voxelVolumeMM3
        // One distance map from the surface tissue: the contact test, and which cores are too
        // far away to reach it at all (their regrowth is skipped).
        let d2 = Filters.squaredDistanceMM2(to: surface).voxels
        let contact2 = contactMM * contactMM, reach2 = (regrowMM + contactMM) * (regrowMM + contactMM)
        for core in cores where Double(core.count) >= minimumVoxels && core.contains(where: { d2[$0] <= reach2 }) {
            var seed = Mask(repeating: 0, geometry: g)
            for v in core { seed.voxels[v] = 1 }
            var grown = Filters.dilate(seed, radiusMM: regrowMM)
            var contact = 0
            for v in 0..<grown.voxels.count where grown.voxels[v] != 0 {
                if band.voxels[v] == 0 || liver.voxels[v] != 0 { grown.voxels[v] = 0; continue }
                if d2[v] <= contact2 { contact += 1 }
            }
            if Double(contact) >= minimumContact { added = added.union(grown) }
        }
        return (added, added.volumeML)
    }
}
