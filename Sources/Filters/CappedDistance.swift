import Evaluation
import Foundation
import VolumeModel

extension Filters {
    /// Squared Euclidean distance in mm² from every voxel to the nearest inside voxel of `m`,
    /// in Float and exact below `capMM2` (values at or above the cap mean "at least the cap"):
    /// what thresholded morphology needs, in half the memory of the exact Double transform
    /// the metrics use (one implementation for both, in Evaluation).
    public static func squaredDistanceMM2(to m: Mask, capMM2: Float) -> Volume<Float> {
        squaredDistancesMM2(to: m, capMM2: capMM2)
    }
}
