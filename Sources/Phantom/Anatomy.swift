import Foundation
import VolumeModel

/// Shapes of the phantom in patient space (LPS, mm). The abdomen is centred on x = y = 0; the
/// liver sits in the patient's right upper abdomen (negative x), the spine posteriorly (+y).
struct Ellipsoid: Sendable {
    var center: Vector3
    var semiAxesMM: Vector3
    /// <= 1 inside.
    @inline(__always) func level(_ p: Vector3) -> Double {
        let d = p - center
        return (d.x * d.x) / (semiAxesMM.x * semiAxesMM.x) + (d.y * d.y) / (semiAxesMM.y * semiAxesMM.y) + (d.z * d.z) / (semiAxesMM.z * semiAxesMM.z)
    }
    @inline(__always) func contains(_ p: Vector3) -> Bool { level(p) <= 1 }
}

struct Sphere: Sendable {
    var center: Vector3
    var radiusMM: Double
    var enhancement: LesionEnhancement
    var rimMM: Double
    @inline(__always) func distance(_ p: Vector3) -> Double { (p - center).length }
}

public enum LesionEnhancement: String, Sendable, Codable, CaseIterable {
    case hypo, hyper
}

/// The tissue model: which structure a point belongs to and its attenuation (HU).
struct Anatomy: Sendable {
    var zCenterMM: Double
    var phase: ContrastPhase
    var lesions: [Sphere]

    var body: Ellipsoid { Ellipsoid(center: Vector3(0, 5, zCenterMM), semiAxesMM: Vector3(165, 120, 1e6)) }
    var muscleWall: Ellipsoid { Ellipsoid(center: Vector3(0, 5, zCenterMM), semiAxesMM: Vector3(148, 104, 1e6)) }
    var cavity: Ellipsoid { Ellipsoid(center: Vector3(0, 5, zCenterMM), semiAxesMM: Vector3(140, 96, 1e6)) }
    var rightLobe: Ellipsoid { Ellipsoid(center: Vector3(-62, 2, zCenterMM), semiAxesMM: Vector3(70, 78, 68)) }
    var leftLobe: Ellipsoid { Ellipsoid(center: Vector3(18, -38, zCenterMM + 22), semiAxesMM: Vector3(62, 34, 36)) }
    var heart: Ellipsoid { Ellipsoid(center: Vector3(15, -25, zCenterMM + 118), semiAxesMM: Vector3(75, 60, 48)) }
    var rightKidney: Ellipsoid { Ellipsoid(center: Vector3(-70, 62, zCenterMM - 62), semiAxesMM: Vector3(28, 24, 50)) }
    var stomach: Ellipsoid { Ellipsoid(center: Vector3(70, -20, zCenterMM + 20), semiAxesMM: Vector3(45, 38, 45)) }
    var spleen: Ellipsoid { Ellipsoid(center: Vector3(100, 45, zCenterMM + 15), semiAxesMM: Vector3(28, 45, 50)) }

    /// Liver = the two lobes, trimmed to stay inside the abdominal cavity.
    @inline(__always) func inLiver(_ p: Vector3) -> Bool {
        (rightLobe.contains(p) || leftLobe.contains(p)) && cavity.level(p) <= 0.92 && !heart.contains(p)
    }

    @inline(__always) func lesionIndex(_ p: Vector3) -> Int? {
        for (n, l) in lesions.enumerated() where l.distance(p) <= l.radiusMM { return n }
        return nil
    }

    /// 0 outside the liver, 1 liver parenchyma, 2 lesion (lesions are clipped to the liver).
    @inline(__always) func label(_ p: Vector3) -> UInt8 {
        guard inLiver(p) else { return 0 }
        return lesionIndex(p) == nil ? 1 : 2
    }

    /// Attenuation in HU, noise-free.
    func hu(_ p: Vector3) -> Double {
        guard body.contains(p) else { return -1000 }
        let portal = phase == .portal
        let dx = p.x, dy = p.y - 62
        // Spine: vertebral body with a cortical rim, posterior in the midline.
        let rSpine = (dx * dx + dy * dy).squareRoot()
        if rSpine <= 20 { return rSpine >= 16 ? 700 : 320 }
        // Aorta and IVC.
        let ax = p.x - 22, ay = p.y - 38
        if ax * ax + ay * ay <= 11 * 11 { return portal ? 160 : 320 }
        let ix = p.x + 22, iy = p.y - 34
        if ix * ix + iy * iy <= 12 * 12 && p.z < zCenterMM + 60 { return portal ? 140 : 90 }
        if !muscleWall.contains(p) { return -100 }  // subcutaneous fat
        if !cavity.contains(p) { return 55 }  // abdominal wall muscle
        if inLiver(p) {
            if let n = lesionIndex(p) {
                let l = lesions[n]
                let rimHU: Double = portal ? 150 : 190
                if l.rimMM > 0 && l.radiusMM - l.distance(p) <= l.rimMM { return rimHU }
                switch l.enhancement {
                case .hypo: return portal ? 45 : 60
                case .hyper: return portal ? 150 : 185
                }
            }
            return portal ? 105 : 75
        }
        if heart.contains(p) { return portal ? 110 : 250 }
        if rightKidney.contains(p) { return portal ? 160 : 190 }
        if spleen.contains(p) { return portal ? 115 : 130 }
        if stomach.contains(p) { return p.y < stomach.center.y - 12 ? -900 : 15 }  // air over fluid
        return 30  // bowel and mesentery, simplified
    }
}

public enum ContrastPhase: String, Sendable, Codable { case portal, arterial }
