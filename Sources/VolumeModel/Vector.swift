import Foundation

/// A 3-vector in patient space (mm) or index space.
public struct Vector3: Sendable, Equatable, Codable, CustomStringConvertible {
    public var x: Double, y: Double, z: Double
    public init(_ x: Double, _ y: Double, _ z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }
    public static let zero = Vector3(0, 0, 0)

    public static func + (a: Vector3, b: Vector3) -> Vector3 { Vector3(a.x + b.x, a.y + b.y, a.z + b.z) }
    public static func - (a: Vector3, b: Vector3) -> Vector3 { Vector3(a.x - b.x, a.y - b.y, a.z - b.z) }
    public static func * (a: Vector3, s: Double) -> Vector3 { Vector3(a.x * s, a.y * s, a.z * s) }
    public static prefix func - (a: Vector3) -> Vector3 { Vector3(-a.x, -a.y, -a.z) }
    public func dot(_ b: Vector3) -> Double { x * b.x + y * b.y + z * b.z }
    public func cross(_ b: Vector3) -> Vector3 { Vector3(y * b.z - z * b.y, z * b.x - x * b.z, x * b.y - y * b.x) }
    public var length: Double { dot(self).squareRoot() }
    public var normalized: Vector3 {
        let l = length
        return l > 0 ? self * (1 / l) : self
    }
    public var array: [Double] { [x, y, z] }
    public subscript(axis: Int) -> Double { axis == 0 ? x : (axis == 1 ? y : z) }
    public var description: String { "(\(fmt(x)), \(fmt(y)), \(fmt(z)))" }

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        self.init(try c.decode(Double.self), try c.decode(Double.self), try c.decode(Double.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x)
        try c.encode(y)
        try c.encode(z)
    }
}

private func fmt(_ v: Double) -> String { String(format: "%.3f", v) }

/// A 3x3 matrix stored by columns.
public struct Matrix3: Sendable, Equatable {
    public var c0: Vector3, c1: Vector3, c2: Vector3
    public init(columns: (Vector3, Vector3, Vector3)) { (c0, c1, c2) = columns }

    public static func * (m: Matrix3, v: Vector3) -> Vector3 { m.c0 * v.x + m.c1 * v.y + m.c2 * v.z }
    public var determinant: Double { c0.dot(c1.cross(c2)) }

    /// Inverse by the adjugate; the caller guarantees a non-singular matrix (a voxel grid always is).
    public var inverse: Matrix3 {
        let d = determinant
        // Rows of the inverse are the cross products of the columns, divided by det.
        let r0 = c1.cross(c2) * (1 / d), r1 = c2.cross(c0) * (1 / d), r2 = c0.cross(c1) * (1 / d)
        return Matrix3(columns: (Vector3(r0.x, r1.x, r2.x), Vector3(r0.y, r1.y, r2.y), Vector3(r0.z, r1.z, r2.z)))
    }
}
