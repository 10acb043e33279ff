import Foundation
import VolumeModel

/// Shapes of the phantom in patient space (LPS, mm: +x patient left, +y posterior, +z head).
/// The abdomen is centred on x = y = 0; the liver sits in the patient's right upper abdomen
/// (negative x), the spine posteriorly (+y). Every size and position is drawn from the seed
/// within anatomical ranges, so phantoms differ the way patients do.
struct Ellipsoid: Sendable {
    var center: Vector3
    var semiAxesMM: Vector3
    /// < 1 inside, 1 on the surface.
    @inline(__always) func level(_ p: Vector3) -> Double {
        let dx = (p.x - center.x) / semiAxesMM.x, dy = (p.y - center.y) / semiAxesMM.y,
            dz = (p.z - center.z) / semiAxesMM.z
        return dx * dx + dy * dy + dz * dz
    }
    @inline(__always) func contains(_ p: Vector3) -> Bool { level(p) <= 1 }
}

/// A straight vessel segment with a radius.
struct Tube: Sendable {
    var a: Vector3
    var b: Vector3
    var radiusMM: Double
    @inline(__always) func contains(_ p: Vector3) -> Bool {
        let d = fromAxis(p)
        return d.dot(d) <= radiusMM * radiusMM
    }
    /// `p` less its nearest point on the axis segment from `a` to `b`.
    @inline(__always) func fromAxis(_ p: Vector3) -> Vector3 {
        let ab = b - a, ap = p - a
        let t = max(0, min(1, ap.dot(ab) / ab.dot(ab)))
        return ap - ab * t
    }
}

/// A lesion: a ball, optionally lobulated (further balls overlapping it: a lobulated or
/// confluent mass) or with a sleeve along a vessel (a capsule lying on the vessel's axis: a
/// metastasis growing along a portal branch, elongated like the vessel it touches).
struct Lesion: Sendable {
    var center: Vector3
    var radiusMM: Double
    var enhancement: LesionEnhancement
    var rimMM: Double
    /// Further balls: offset from `center` and radius (mm).
    var lobes: [Lobe] = []
    /// A capsule from `center + sleeve.a` to `center + sleeve.b`.
    var sleeve: Sleeve?

    struct Lobe: Sendable {
        var offset: Vector3
        var radiusMM: Double
    }
    struct Sleeve: Sendable {
        var a: Vector3
        var b: Vector3
        var radiusMM: Double
    }

    @inline(__always) func distance(_ p: Vector3) -> Double { (p - center).length }

    /// How deep `p` lies inside the lesion (mm): the largest of its depths in the ball, the
    /// lobes and the sleeve (the union's depth where one part holds the point; a little less
    /// where two parts overlap); negative outside.
    func depth(_ p: Vector3) -> Double {
        let d = p - center
        var out = radiusMM - d.length
        for l in lobes { out = max(out, l.radiusMM - (d - l.offset).length) }
        if let s = sleeve { out = max(out, s.radiusMM - Tube(a: s.a, b: s.b, radiusMM: s.radiusMM).fromAxis(d).length) }
        return out
    }

    @inline(__always) func contains(_ p: Vector3) -> Bool {
        let d = p - center
        let r2 = radiusMM * radiusMM
        if d.dot(d) <= r2 { return true }
        for l in lobes {
            let e = d - l.offset
            if e.dot(e) <= l.radiusMM * l.radiusMM { return true }
        }
        if let s = sleeve { return Tube(a: center + s.a, b: center + s.b, radiusMM: s.radiusMM).contains(p) }
        return false
    }

    /// Every length about the centre times `s` (the burden's bisection scales lesions this way).
    func scaled(_ s: Double) -> Lesion {
        var x = self
        x.radiusMM *= s
        x.lobes = lobes.map { Lobe(offset: $0.offset * s, radiusMM: $0.radiusMM * s) }
        x.sleeve = sleeve.map { Sleeve(a: $0.a * s, b: $0.b * s, radiusMM: $0.radiusMM * s) }
        return x
    }
}

public enum LesionEnhancement: String, Sendable, Codable, CaseIterable {
    case hypo, hyper
}

/// The acquisition phase: arterial (late arterial, about 35 s), portal venous (about 70 s) or
/// delayed (equilibrium, 3-5 min).
public enum ContrastPhase: String, Sendable, Codable, CaseIterable { case portal, arterial, delayed }

/// Attenuation (HU) of the enhancing tissues in one phase. Portal and arterial are the values of
/// phantom model v5 unchanged; delayed (added with the failure classes of issue 20) has the
/// equilibrium phase's flat contrast: blood, myocardium, spleen and liver within 30 HU of one
/// another (the heart's wall at the parenchyma's density), hyper-enhancing lesions washed out
/// below the parenchyma (as HCC does), hypodense ones still darker.
struct PhaseContrast: Sendable {
    /// Necrotic tumour: no enhancement in any phase, denser than water (debris, protein): above the
    /// 20 HU that bile, cyst fluid and ascites stay below (`AutoSegmentation.fluidCeilingHU`).
    static let necrosisHU = 25.0
    var liver, hypoLesion, hyperLesion, lesionRim, portalVein, hepaticVein: Double
    var aorta, ivc, heartBlood, myocardium, kidney, spleen: Double

    static func of(_ phase: ContrastPhase) -> PhaseContrast {
        switch phase {
        case .portal:
            return PhaseContrast(
                liver: 105, hypoLesion: 45, hyperLesion: 150, lesionRim: 150, portalVein: 175, hepaticVein: 160,
                aorta: 165, ivc: 145, heartBlood: 160, myocardium: 110, kidney: 165, spleen: 115)
        case .arterial:
            return PhaseContrast(
                liver: 75, hypoLesion: 60, hyperLesion: 185, lesionRim: 190, portalVein: 130, hepaticVein: 75,
                aorta: 320, ivc: 85, heartBlood: 280, myocardium: 125, kidney: 200, spleen: 130)
        case .delayed:
            return PhaseContrast(
                liver: 95, hypoLesion: 55, hyperLesion: 75, lesionRim: 105, portalVein: 120, hepaticVein: 115,
                aorta: 130, ivc: 120, heartBlood: 125, myocardium: 100, kidney: 170, spleen: 100)
        }
    }
}

/// Failure classes a phantom can be given (issue 20), each off by default so the default
/// phantom's pixels stay those of model v5.
struct AnatomyOptions: Sendable {
    /// The spleen moved against the left lobe's lateral tip, enhancing 10 HU above the liver.
    var spleenContact = false
    /// The stomach against the left lobe with a 6 mm wall 5 HU below the liver's density.
    var stomachContact = false
    /// Steatosis: the parenchyma this many HU below the phase's value; its vessels, its lesions
    /// and the organs around it keep theirs (fat lowers the hepatocytes' density, not blood's).
    var steatosisHU = 0.0
    /// Mosaic lesions: patches keeping a fifth of the lesion's contrast (`Anatomy.inPatch`).
    var mosaic = false
    /// Graded lesion margins: over a lesion's outer `lesionMarginMM` its contrast falls linearly
    /// from the whole (that deep) to `marginEdgeShare` of it at its edge (0: sharp edges).
    var lesionMarginMM = 0.0
    /// What a graded margin keeps of the contrast at the lesion's edge: where IRCADb 17's expert
    /// outlines lie on its metastases' profiles, 0.16 and 0.22 (`Benchmarks/expert_edges.py`).
    static let marginEdgeShare = 0.2
    /// Necrotic lesion centres (`PhantomSpec.necroticLesions`).
    var necrosis = false
    /// Lung bases above the diaphragm (`PhantomSpec.lungs`).
    var lungs = false
}

/// The tissue model: which structure a point belongs to and its attenuation (HU).
struct Anatomy: Sendable {
    var phase: ContrastPhase
    var contrast: PhaseContrast
    var options: AnatomyOptions
    var lesions: [Lesion] = []
    /// The lesions under the dome (`PhantomSpec.domeLesions`): they bulge the liver's surface,
    /// so the liver is the lobes' outline and what of these lesions lies beyond it.
    var domeLesions: Range<Int> = 0..<0

    // Body wall.
    var body: Ellipsoid
    var muscleWall: Ellipsoid
    var cavity: Ellipsoid
    // Liver: two lobes, a bumpy surface, a flat visceral (inferior-posterior) face.
    var rightLobe: Ellipsoid
    var leftLobe: Ellipsoid
    var bumps: [(amplitude: Double, kx: Double, ky: Double, kz: Double, phase: Double)]
    var visceralPlane: (normal: Vector3, offset: Double)
    var gallbladder: Ellipsoid
    var portalVeins: [Tube]
    var hepaticVeins: [Tube]
    // Neighbours of similar density.
    var heart: Ellipsoid
    /// The heart's chambers: the heart less a 10 mm myocardial wall (v5).
    var heartChambers: Ellipsoid
    var rightKidney: Ellipsoid
    var leftKidney: Ellipsoid
    var stomach: Ellipsoid
    /// The stomach less its wall (only with `stomachContact`: otherwise the stomach has none).
    var stomachLumen: Ellipsoid?
    /// The liver's lobes, the stomach and the spleen grown by `diaphragmMM`: the diaphragm over
    /// them (only with `AnatomyOptions.lungs`; see `lungOrDiaphragm`).
    var diaphragmShells: [Ellipsoid] = []
    var spleen: Ellipsoid
    var aorta: (x: Double, y: Double, r: Double)
    var ivc: (x: Double, y: Double, r: Double)
    var spine: (x: Double, y: Double, r: Double)
    var zCenterMM: Double
    var bowelPhase: (Double, Double, Double)

    init(seed: UInt64, zCenterMM zc: Double, phase: ContrastPhase, options: AnatomyOptions = AnatomyOptions()) {
        var g = SeededGenerator(seed: seed ^ 0xA5A5_5A5A_1234_5678)
        func j(_ v: Double, _ spread: Double) -> Double { v * (1 + g.uniform(-spread, spread)) }
        self.phase = phase
        contrast = PhaseContrast.of(phase)
        self.options = options
        zCenterMM = zc
        let bx = j(165, 0.08), by = j(118, 0.08)
        body = Ellipsoid(center: Vector3(0, 5, zc), semiAxesMM: Vector3(bx, by, 1e6))
        muscleWall = Ellipsoid(center: Vector3(0, 5, zc), semiAxesMM: Vector3(bx - j(17, 0.3), by - j(15, 0.3), 1e6))
        cavity = Ellipsoid(center: Vector3(0, 5, zc), semiAxesMM: Vector3(bx - j(27, 0.2), by - j(24, 0.2), 1e6))
        rightLobe = Ellipsoid(
            center: Vector3(j(-62, 0.08), j(4, 0.5), zc), semiAxesMM: Vector3(j(70, 0.1), j(78, 0.1), j(70, 0.12)))
        leftLobe = Ellipsoid(
            center: Vector3(j(16, 0.3), j(-40, 0.1), zc + j(22, 0.2)),
            semiAxesMM: Vector3(j(60, 0.15), j(32, 0.12), j(36, 0.15)))
        bumps = (0..<5).map { _ in
            (
                g.uniform(0.03, 0.08), g.uniform(0.02, 0.05), g.uniform(0.02, 0.05), g.uniform(0.02, 0.05),
                g.uniform(0, 2 * .pi)
            )
        }
        visceralPlane = (Vector3(0.25, 0.45, -0.86).normalized, j(48, 0.15))
        gallbladder = Ellipsoid(
            center: Vector3(j(-38, 0.1), j(-22, 0.2), zc - j(40, 0.1)),
            semiAxesMM: Vector3(j(15, 0.2), j(14, 0.2), j(30, 0.2)))
        heart = Ellipsoid(
            center: Vector3(j(15, 0.3), j(-25, 0.2), zc + j(112, 0.06)),
            semiAxesMM: Vector3(j(75, 0.1), j(60, 0.1), j(50, 0.1)))
        heartChambers = Ellipsoid(center: heart.center, semiAxesMM: heart.semiAxesMM - Vector3(10, 10, 10))
        rightKidney = Ellipsoid(
            center: Vector3(j(-70, 0.08), j(64, 0.08), zc - j(62, 0.1)), semiAxesMM: Vector3(28, 24, 50))
        leftKidney = Ellipsoid(
            center: Vector3(j(72, 0.08), j(62, 0.08), zc - j(50, 0.1)), semiAxesMM: Vector3(27, 23, 50))
        stomach = Ellipsoid(
            center: Vector3(j(68, 0.1), j(-18, 0.3), zc + j(18, 0.3)),
            semiAxesMM: Vector3(j(45, 0.15), j(38, 0.15), j(45, 0.15)))
        spleen = Ellipsoid(
            center: Vector3(j(100, 0.06), j(45, 0.1), zc + j(15, 0.3)),
            semiAxesMM: Vector3(j(28, 0.1), j(45, 0.1), j(50, 0.1)))
        aorta = (j(20, 0.1), j(36, 0.08), j(11, 0.1))
        ivc = (j(-24, 0.1), j(30, 0.1), j(12, 0.1))
        spine = (0, j(64, 0.06), j(20, 0.08))
        bowelPhase = (g.uniform(0, 2 * .pi), g.uniform(0, 2 * .pi), g.uniform(0, 2 * .pi))
        // Portal vein: from the hilum (medial, inferior) to both lobes, then second-order branches.
        let hilum = Vector3(-28, 8, zc - 22)
        let rightBranch = Vector3(-70, 12, zc - 2), leftBranch = Vector3(14, -36, zc + 18)
        var portal = [
            Tube(a: Vector3(-15, 30, zc - 62), b: hilum, radiusMM: 7),
            Tube(a: hilum, b: rightBranch, radiusMM: 5.5), Tube(a: hilum, b: leftBranch, radiusMM: 4.5),
        ]
        for (from, count) in [(rightBranch, 4), (leftBranch, 2)] {
            for _ in 0..<count {
                let d = Vector3(g.uniform(-1, 1), g.uniform(-1, 1), g.uniform(-0.6, 0.6)).normalized
                portal.append(Tube(a: from, b: from + d * g.uniform(25, 45), radiusMM: g.uniform(2.2, 3.5)))
            }
        }
        portalVeins = portal
        // Hepatic veins: right, middle and left, from the IVC below the dome fanning forward.
        let confluence = Vector3(ivc.x, ivc.y - 4, zc + 45)
        hepaticVeins = [
            Tube(a: confluence, b: Vector3(-95, -5, zc + 10), radiusMM: j(5, 0.15)),
            Tube(a: confluence, b: Vector3(-45, -55, zc + 8), radiusMM: j(4.5, 0.15)),
            Tube(a: confluence, b: Vector3(15, -50, zc + 25), radiusMM: j(4, 0.15)),
        ]
        if options.spleenContact {
            // The spleen's anterior-medial face on the left lobe's lateral tip, 6 mm of overlap
            // (the liver takes the overlap: `hu` and `label` test the liver first).
            let semi = Vector3(30, 48, 55)
            let tip = Vector3(
                leftLobe.center.x + leftLobe.semiAxesMM.x * 0.8, leftLobe.center.y + leftLobe.semiAxesMM.y * 0.4,
                leftLobe.center.z)
            let direction = Vector3(0.55, 0.83, 0).normalized
            let reach =
                1
                / ((direction.x / semi.x) * (direction.x / semi.x) + (direction.y / semi.y) * (direction.y / semi.y))
                .squareRoot()
            spleen = Ellipsoid(center: tip + direction * (reach - 6), semiAxesMM: semi)
        }
        if options.stomachContact {
            // The stomach's upper wall under and beside the left lobe: its top lies 18 mm above the
            // lobe's lowest point, about 8 mm into the lobe's lower face above it (the liver keeps the overlap).
            let semi = Vector3(48, 36, 42)
            stomach = Ellipsoid(
                center: Vector3(
                    leftLobe.center.x + 25, leftLobe.center.y + 18,
                    leftLobe.center.z - leftLobe.semiAxesMM.z - semi.z + 18),
                semiAxesMM: semi)
            stomachLumen = Ellipsoid(center: stomach.center, semiAxesMM: semi - Vector3(6, 6, 6))
        }
        if options.lungs {
            let m = Self.diaphragmMM
            diaphragmShells = [rightLobe, leftLobe, stomach, spleen].map {
                Ellipsoid(center: $0.center, semiAxesMM: $0.semiAxesMM + Vector3(m, m, m))
            }
        }
    }

    /// Liver = the two lobes with a bumpy surface, trimmed by the visceral face, the cavity, the
    /// heart (the dome is concave beneath it) and the gallbladder fossa.
    @inline(__always) func inLiver(_ p: Vector3) -> Bool {
        if !domeLesions.isEmpty, lesions[domeLesions].contains(where: { $0.contains(p) }), cavity.level(p) <= 0.93,
            !heart.contains(p)
        {
            return true
        }
        var level = min(rightLobe.level(p), leftLobe.level(p))
        if level > 1.4 { return false }
        for b in bumps { level *= 1 + b.amplitude * sin(b.kx * p.x + b.ky * p.y + b.kz * p.z + b.phase) }
        guard level <= 1 else { return false }
        if (p - Vector3(rightLobe.center.x, rightLobe.center.y, zCenterMM)).dot(visceralPlane.normal)
            > visceralPlane.offset
        {
            return false
        }
        return cavity.level(p) <= 0.93 && !heart.contains(p) && !gallbladder.contains(p)
    }

    @inline(__always) func lesionIndex(_ p: Vector3) -> Int? {
        for (n, l) in lesions.enumerated() where l.contains(p) { return n }
        return nil
    }

    /// The structures drawn over the liver where they cross it: the spine, the aorta and the IVC
    /// (retrohepatic up to the confluence). `hu` and `label` both give them precedence, so the truth
    /// never calls liver what the image shows as vessel or bone (before v4 the truth did: ~45-65 mL
    /// of IVC inside the sample livers).
    @inline(__always) func inVesselOrSpine(_ p: Vector3) -> Bool {
        inDisc(p, spine) || inDisc(p, aorta) || inIVC(p)
    }

    /// The IVC: a vertical tube up to the hepatic veins' confluence.
    @inline(__always) func inIVC(_ p: Vector3) -> Bool { inDisc(p, ivc) && p.z < zCenterMM + 55 }

    /// The liver as the truth and the image see it: the organ less the vessels and bone drawn over it.
    @inline(__always) func inTruthLiver(_ p: Vector3) -> Bool { !inVesselOrSpine(p) && inLiver(p) }

    /// 0 outside the liver, 1 liver (parenchyma and the vessels inside it), 2 lesion.
    @inline(__always) func label(_ p: Vector3) -> UInt8 {
        guard inTruthLiver(p) else { return 0 }
        return lesionIndex(p) == nil ? 1 : 2
    }

    @inline(__always) func inDisc(_ p: Vector3, _ c: (x: Double, y: Double, r: Double)) -> Bool {
        let dx = p.x - c.x, dy = p.y - c.y
        return dx * dx + dy * dy <= c.r * c.r
    }

    /// Whether offset `d` from a mosaic lesion's centre lies in a patch: outside a solid core of
    /// 0.3 radius, where the product of three sines of 14 mm wavelength (phases drawn from the
    /// lesion's centre, so the phantom's random stream is untouched) exceeds 0.1: cells of about
    /// 7 mm, about 30 % of the volume.
    static func inPatch(_ d: Vector3, radiusMM: Double, key: Vector3) -> Bool {
        guard d.length > 0.3 * radiusMM else { return false }
        func phase(_ i: Double) -> Double {
            let h = sin(key.x * 12.9898 + key.y * 78.233 + key.z * 37.719 + i * 4.1414) * 43_758.5453
            return (h - h.rounded(.down)) * 2 * Double.pi
        }
        let k = 2 * Double.pi / 14
        return sin(k * d.x + phase(1)) * sin(k * d.y + phase(2)) * sin(k * d.z + phase(3)) > 0.1
    }

    /// Necrosis (`AnatomyOptions.necrosis`) in lesions of at least this radius (a lesion of 2 cm
    /// across or more), deeper than this share of it (the inner 60 % of a ball's radius: a fifth
    /// of its volume).
    static let necrosisMinimumRadiusMM = 10.0
    static let necrosisDepthShare = 0.4

    /// The lung bases (`AnatomyOptions.lungs`): above `lungFloorMM` over the liver's centre, what
    /// lies in the abdominal cavity outside the organs is lung (`lungHU`) rather than bowel, except
    /// a `diaphragmMM` layer of muscle over the liver's lobes, the stomach and the spleen (each
    /// ellipsoid grown by it, and over a bulging dome lesion) and over the bowel (a sheet above the
    /// floor): a lesion under the dome lies under the diaphragm and the lung, as in segments VII
    /// and VIII of a real liver.
    static let lungFloorMM = 25.0
    static let diaphragmMM = 5.0
    static let lungHU = -850.0

    /// Whether `p`, in the cavity outside every organ, is lung, diaphragm (false, false: neither).
    func lungOrDiaphragm(_ p: Vector3) -> (lung: Bool, diaphragm: Bool) {
        guard options.lungs, p.z > zCenterMM + Self.lungFloorMM else { return (false, false) }
        // The diaphragm's sheet over the bowel below.
        if p.z <= zCenterMM + Self.lungFloorMM + Self.diaphragmMM { return (false, true) }
        for shell in diaphragmShells where shell.contains(p) { return (false, true) }
        // Over a bulging dome lesion too.
        for l in lesions[domeLesions] where l.distance(p) <= l.radiusMM + Self.diaphragmMM { return (false, true) }
        return (true, false)
    }

    /// Attenuation in HU, noise-free.
    func hu(_ p: Vector3) -> Double {
        let bodyLevel = body.level(p)
        guard bodyLevel <= 1 else { return -1000 }
        let c = contrast
        if bodyLevel > 0.975 { return 25 }  // skin
        // Spine: vertebral body with a cortical rim.
        let sx = p.x - spine.x, sy = p.y - spine.y
        let rs = (sx * sx + sy * sy).squareRoot()
        if rs <= spine.r { return rs >= spine.r - 3.5 ? 700 : 280 }
        if !muscleWall.contains(p) { return -105 }  // subcutaneous fat
        if !cavity.contains(p) {
            // Ribs: oval cross-sections in the wall, lateral and posterior, above the kidneys; their
            // angles drift with z as oblique ribs do.
            if p.z > zCenterMM - 75 {
                let mid = Ellipsoid(
                    center: cavity.center, semiAxesMM: (cavity.semiAxesMM + muscleWall.semiAxesMM) * 0.5)
                let angle = atan2((p.y - mid.center.y) / mid.semiAxesMM.y, (p.x - mid.center.x) / mid.semiAxesMM.x)
                let spacing = 2 * Double.pi / 11
                let drift = (p.z - zCenterMM) * 0.012
                let nearest = ((angle - drift) / spacing).rounded() * spacing + drift
                let c = Vector3(
                    mid.center.x + mid.semiAxesMM.x * cos(nearest), mid.center.y + mid.semiAxesMM.y * sin(nearest), p.z)
                let d = Vector3(p.x - c.x, (p.y - c.y) * 1.6, 0).length
                if sin(nearest) > -0.45 && d <= 6 { return d >= 4 ? 650 : 260 }
            }
            return 50  // abdominal wall muscle
        }
        if inDisc(p, aorta) { return c.aorta }
        if inIVC(p) { return c.ivc }
        if inLiver(p) {
            if let n = lesionIndex(p) {
                let l = lesions[n]
                if l.rimMM > 0 && options.lesionMarginMM == 0 && l.radiusMM - l.distance(p) <= l.rimMM {
                    return c.lesionRim
                }
                if options.necrosis && l.radiusMM >= Self.necrosisMinimumRadiusMM
                    && l.depth(p) > Self.necrosisDepthShare * l.radiusMM
                {
                    return PhaseContrast.necrosisHU
                }
                var value = l.enhancement == .hypo ? c.hypoLesion : c.hyperLesion
                let parenchyma = c.liver - options.steatosisHU
                if options.mosaic && Self.inPatch(p - l.center, radiusMM: l.radiusMM, key: l.center) {
                    value = parenchyma + 0.2 * (value - parenchyma)
                }
                if options.lesionMarginMM > 0 {
                    let depth = l.depth(p)
                    if depth < options.lesionMarginMM {
                        let e = AnatomyOptions.marginEdgeShare
                        value =
                            parenchyma + (e + (1 - e) * max(0, depth) / options.lesionMarginMM) * (value - parenchyma)
                    }
                }
                return value
            }
            for v in portalVeins where v.contains(p) { return c.portalVein }
            for v in hepaticVeins where v.contains(p) { return c.hepaticVein }
            return c.liver - options.steatosisHU
        }
        if gallbladder.contains(p) { return 8 }
        if heart.contains(p) {
            // A 10 mm myocardial wall around the chambers' blood, which enhances like the great
            // vessels' (v5; before, one uniform 115 HU in the portal phase, below the aorta's blood).
            if heartChambers.contains(p) { return c.heartBlood }
            return c.myocardium
        }
        if rightKidney.contains(p) || leftKidney.contains(p) { return c.kidney }
        if spleen.contains(p) { return options.spleenContact ? c.liver + 10 : c.spleen }
        if stomach.contains(p) {
            if let lumen = stomachLumen, !lumen.contains(p) { return c.liver - 5 }  // wall
            return p.y < stomach.center.y - 12 ? -900 : 18  // air over fluid
        }
        for v in portalVeins.prefix(1) where v.contains(p) { return c.portalVein }  // extrahepatic portal vein
        let chest = lungOrDiaphragm(p)
        if chest.lung { return Self.lungHU }
        if chest.diaphragm { return 50 }  // muscle, as the abdominal wall
        return bowel(p)
    }

    /// Bowel loops in mesenteric fat: a smooth 3D pattern whose ridges are loops (wall and fluid
    /// around 30 HU, some gas), the rest fat. Real abdomens are not a uniform soft-tissue sheet.
    func bowel(_ p: Vector3) -> Double {
        let u =
            sin(p.x / 11 + bowelPhase.0) + sin(p.y / 13 + bowelPhase.1) + sin(p.z / 9 + bowelPhase.2)
            + 0.6 * sin((p.x + p.y) / 17 + bowelPhase.0 * 2)
        if u > 1.9 { return -850 }  // gas in a loop
        if u > 0.2 { return 28 }  // loop wall and fluid
        return -95  // mesenteric fat
    }
}
