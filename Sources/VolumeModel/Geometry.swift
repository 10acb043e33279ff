import Foundation

/// Patient-space geometry of a voxel grid, in DICOM's LPS frame (x to the patient's Left,
/// y to Posterior, z to Superior; PS3.3 C.7.6.2.1.1), millimetres throughout.
///
/// Voxel (i, j, k) sits at `originMM + i*spacingMM.x*axes.0 + j*spacingMM.y*axes.1 + k*spacingMM.z*axes.2`.
/// For a DICOM series: i runs along a row (direction = Image Orientation (Patient) first triplet),
/// j down the columns (second triplet), k through the slices; `axes.2` is the direction from one
/// slice's Image Position (Patient) to the next, which differs from the row x column normal only
/// under gantry tilt (a sheared grid).
public struct Geometry: Sendable, Equatable, Codable {
    public var dims: Dims
    public var originMM: Vector3
    public var spacingMM: Vector3
    /// Unit direction of the i, j and k axes in LPS.
    public var axes: (Vector3, Vector3, Vector3)

    public init(dims: Dims, originMM: Vector3, spacingMM: Vector3, axes: (Vector3, Vector3, Vector3)) {
        self.dims = dims
        self.originMM = originMM
        self.spacingMM = spacingMM
        self.axes = (axes.0.normalized, axes.1.normalized, axes.2.normalized)
    }

    public static func == (a: Geometry, b: Geometry) -> Bool {
        a.dims == b.dims && a.originMM == b.originMM && a.spacingMM == b.spacingMM
            && a.axes.0 == b.axes.0 && a.axes.1 == b.axes.1 && a.axes.2 == b.axes.2
    }

    enum CodingKeys: String, CodingKey { case dims, originMM = "origin_mm", spacingMM = "spacing_mm", directions }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = try c.decode([Vector3].self, forKey: .directions)
        guard d.count == 3 else {
            throw DecodingError.dataCorruptedError(
                forKey: .directions, in: c, debugDescription: "expected 3 direction vectors")
        }
        self.init(
            dims: try c.decode(Dims.self, forKey: .dims), originMM: try c.decode(Vector3.self, forKey: .originMM),
            spacingMM: try c.decode(Vector3.self, forKey: .spacingMM), axes: (d[0], d[1], d[2]))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dims, forKey: .dims)
        try c.encode(originMM, forKey: .originMM)
        try c.encode(spacingMM, forKey: .spacingMM)
        try c.encode([axes.0, axes.1, axes.2], forKey: .directions)
    }

    /// Step vectors (mm) from one voxel to the next along i, j, k.
    public var stepsMM: (Vector3, Vector3, Vector3) {
        (axes.0 * spacingMM.x, axes.1 * spacingMM.y, axes.2 * spacingMM.z)
    }

    /// Volume of one voxel in mm^3: |det| of the three step vectors, so a sheared (gantry-tilted)
    /// grid is measured by its true slice separation, not the distance between slice origins.
    public var voxelVolumeMM3: Double {
        let (a, b, c) = stepsMM
        return abs(a.dot(b.cross(c)))
    }

    /// Patient position (mm, LPS) of the centre of voxel (i, j, k); fractional indices allowed.
    public func positionMM(_ i: Double, _ j: Double, _ k: Double) -> Vector3 {
        let (a, b, c) = stepsMM
        return originMM + a * i + b * j + c * k
    }

    /// Continuous voxel index of a patient position (inverse of `positionMM`).
    public func index(of p: Vector3) -> Vector3 {
        let (a, b, c) = stepsMM
        let m = Matrix3(columns: (a, b, c))
        return m.inverse * (p - originMM)
    }

    /// Unit normal of the slice planes (row direction x column direction).
    public var sliceNormal: Vector3 { axes.0.cross(axes.1).normalized }

    /// Angle (degrees) between the slice-to-slice direction and the slice normal: gantry tilt.
    public var shearDegrees: Double {
        let c = min(1, abs(axes.2.dot(sliceNormal)))
        return (c >= 1 ? 0 : acos(c)) * 180 / .pi
    }

    /// Centres of the eight corner voxels.
    public var cornersMM: [Vector3] {
        let hi = (Double(dims.x - 1), Double(dims.y - 1), Double(dims.z - 1))
        var out: [Vector3] = []
        for k in [0, hi.2] { for j in [0, hi.1] { for i in [0, hi.0] { out.append(positionMM(i, j, k)) } } }
        return out
    }

    /// Largest distance (mm) between corresponding corner voxel centres of two grids with the
    /// same dims; nil when the dims differ. Zero means the same voxel lattice, voxel for voxel.
    public func cornerMismatchMM(_ other: Geometry) -> Double? {
        guard dims == other.dims else { return nil }
        return zip(cornersMM, other.cornersMM).map { ($0 - $1).length }.max() ?? 0
    }

    /// True when both grids put every voxel at the same place within `toleranceMM`.
    public func matches(_ other: Geometry, toleranceMM: Double) -> Bool {
        guard let d = cornerMismatchMM(other) else { return false }
        return d <= toleranceMM
    }
}

/// Grid size in voxels along i (columns), j (rows), k (slices).
public struct Dims: Sendable, Hashable, Codable, CustomStringConvertible {
    public var x: Int, y: Int, z: Int
    public init(_ x: Int, _ y: Int, _ z: Int) {
        self.x = x
        self.y = y
        self.z = z
    }
    public var count: Int { x * y * z }
    public var sliceCount: Int { x * y }
    public var description: String { "\(x)x\(y)x\(z)" }
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        self.init(try c.decode(Int.self), try c.decode(Int.self), try c.decode(Int.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x)
        try c.encode(y)
        try c.encode(z)
    }
}
