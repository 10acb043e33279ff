import Foundation

/// Where a lesion lies, as ENETS typing needs it.
public struct LesionPlacement: Sendable {
    public var volumeML: Double
    public var centroidMM: (x: Double, y: Double, z: Double)
    /// Voxels per Couinaud segment (1-8) when a segment map was given.
    public var segmentVoxels: [Int: Int]?
    /// Approximate side when no segment map: true = right lobe.
    public var right: Bool
    public init(
        volumeML: Double, centroidMM: (x: Double, y: Double, z: Double), segmentVoxels: [Int: Int]?, right: Bool
    ) {
        self.volumeML = volumeML
        self.centroidMM = centroidMM
        self.segmentVoxels = segmentVoxels
        self.right = right
    }
}

/// ENETS distribution type [5]: I simple, II complex, III diffuse.
public struct EnetsResult: Codable, Sendable, Equatable {
    public var type: String
    /// True without a Couinaud segment map (left/right split by a plane, see README).
    public var approximate: Bool
    public var method: String
    public var rightLobeLesionShare: Double
    public var segmentsInvolved: [Int]?

    enum CodingKeys: String, CodingKey {
        case type, approximate, method, rightLobeLesionShare = "right_lobe_lesion_share", segmentsInvolved =
            "segments_involved"
    }

    /// Couinaud segments that share a border (htb's table): left 2-4 with the caudate 1, right 5-8.
    public static let adjacentSegments: Set<[Int]> = [
        [1, 2], [1, 4], [1, 7], [1, 8], [2, 3], [2, 4], [3, 4], [4, 5], [4, 8],
        [5, 6], [5, 8], [6, 7], [7, 8],
    ]
    /// Share of lesion volume in one lobe above which the other lobe holds only "satellites".
    public static let dominantLobeShare = 0.9
    /// Without segments: lesions in one lobe whose centroids lie within this distance count as
    /// "confined to two adjacent segments".
    public static let simpleSpanMM = 50.0

    /// Types the lesions (htb's reading of the ENETS definitions [5], thresholds documented above):
    /// I = one lesion, or all lesions within one segment or two adjacent ones (without segments:
    /// one lobe, centroids within 50 mm); II = at least 90 % of the lesion volume in one lobe
    /// (satellites in the other, or several segments of one lobe); III = both lobes otherwise.
    public static func classify(_ lesions: [LesionPlacement]) -> EnetsResult? {
        guard !lesions.isEmpty else { return nil }
        let exact = lesions.allSatisfy { $0.segmentVoxels != nil }
        let total = lesions.map(\.volumeML).reduce(0, +)
        var rightVolume = 0.0
        var segments = Set<Int>()
        for l in lesions {
            if exact, let s = l.segmentVoxels {
                let voxels = s.values.reduce(0, +)
                let right = s.filter { (5...8).contains($0.key) }.values.reduce(0, +)
                rightVolume += voxels > 0 ? l.volumeML * Double(right) / Double(voxels) : 0
                segments.formUnion(s.filter { $0.value > 0 }.keys)
            } else if l.right {
                rightVolume += l.volumeML
            }
        }
        let share = total > 0 ? rightVolume / total : 0
        let oneLobe = share >= 1 - 1e-9 || share <= 1e-9
        let type: String
        if lesions.count == 1 {
            type = "I"
        } else if exact {
            let s = segments.sorted()
            if s.count == 1 || (s.count == 2 && adjacentSegments.contains(s)) {
                type = "I"
            } else if max(share, 1 - share) >= dominantLobeShare {
                type = "II"
            } else {
                type = "III"
            }
        } else {
            var span = 0.0
            for a in lesions {
                for b in lesions {
                    let dx = a.centroidMM.x - b.centroidMM.x, dy = a.centroidMM.y - b.centroidMM.y,
                        dz = a.centroidMM.z - b.centroidMM.z
                    span = max(span, (dx * dx + dy * dy + dz * dz).squareRoot())
                }
            }
            if oneLobe && span <= simpleSpanMM {
                type = "I"
            } else if max(share, 1 - share) >= dominantLobeShare {
                type = "II"
            } else {
                type = "III"
            }
        }
        return EnetsResult(
            type: type, approximate: !exact,
            method: exact
                ? "Couinaud segment map"
                : "approximate: left/right split by a sagittal plane leaving 60 % of the liver on the right",
            rightLobeLesionShare: (share * 1000).rounded() / 1000, segmentsInvolved: exact ? segments.sorted() : nil)
    }
}
