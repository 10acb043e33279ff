import Filters
import Foundation
import VolumeModel
import Volumetry

/// Lesions that are the liver's edge: a voxel on the outline's outermost layer holds liver and
/// whatever lies beyond it (fat, muscle, bowel), so it reads darker than the parenchyma, and a
/// run of such voxels along the surface passes the lesion step's dark threshold. A lesion has a
/// core that lies deeper; a region found with more than half of its voxels on that one layer is
/// partial volume (or tissue beyond the liver that the outline took in with it) and returns to the
/// liver. Measured on the sweep before this stage (htb-auto/22, seeds 1-8 of the low, stomach,
/// delayed and irregular specs): of 62 false lesions of 10 mm or more, 49 were such sheets; of 88
/// true ones, 1.
enum EdgeSheets {
    /// Removes such regions from `lesions` (the liver keeps them); returns the mL removed.
    static func remove(from lesions: inout Mask, liver: Mask) -> Double {
        var removed = 0
        for c in components(of: lesions, connectivity: .faces6).voxels
        where 2 * c.filter({ AutoSegmentation.hasFaceNeighbour($0, in: liver, inside: false) }).count > c.count {
            for v in c { lesions.voxels[v] = 0 }
            removed += c.count
        }
        return Double(removed) * lesions.geometry.voxelVolumeMM3 / 1000
    }
}
