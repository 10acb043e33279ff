import Foundation

/// SIRT activity and absorbed doses.
///
/// Constants: energy deposited per unit activity, Y-90 49.67 Gy·kg/GBq [D1], Ho-166 15.87
/// Gy·kg/GBq [D2]. Models: single compartment (MIRD) D = K·A·(1 - LSF)/M [D1]; partition model
/// A = D_N·(T/N·M_T + M_N) / (K·(1 - LSF)), D_T = T/N·D_N [D3]; resin body-surface-area method
/// A = (BSA - 0.2) + V_T/V_liver, BSA by DuBois, with the activity reduced by 20 % for a lung shunt
/// of 10-15 % and 40 % for 15-20 % [D4]; lung dose K·A·LSF/M_lung with limits of 30 Gy a session
/// and 50 Gy cumulative [D4]. Default target: the minimum tumour absorbed dose of 150 Gy [22].
/// Masses are volumes from htb's segmentation times a density of 1.03 g/mL for liver and tumour
/// (htb's documented default, a common convention for soft tissue in radioembolization
/// dosimetry; set `liver_density_g_ml` to use another).
public struct Dosimetry: Codable, Sendable, Equatable {
    public var isotope: String
    public var microsphere: String
    public var energyGyKgPerGBq: Double
    public var densityGPerML: Double
    public var tumorMassKg: Double
    public var normalLiverMassKg: Double
    public var lungShuntFractionPercent: Double
    public var lungMassKg: Double
    public var partition: Partition?
    public var singleCompartment: SingleCompartment?
    public var bsa: BSA?
    public var lung: Lung?
    public var warnings: [String]
    public var needs: [String]

    public struct Partition: Codable, Sendable, Equatable {
        /// "tumor_dose" or "normal_liver_dose": what the activity was solved for.
        public var target: String
        public var targetDoseGy: Double
        public var tumorToNormalRatio: Double
        public var activityGBq: Double
        public var tumorDoseGy: Double
        public var normalLiverDoseGy: Double
        enum CodingKeys: String, CodingKey {
            case target, targetDoseGy = "target_dose_gy", tumorToNormalRatio = "tumor_to_normal_ratio", activityGBq =
                "activity_gbq"
            case tumorDoseGy = "tumor_dose_gy", normalLiverDoseGy = "normal_liver_dose_gy"
        }
    }
    public struct SingleCompartment: Codable, Sendable, Equatable {
        /// The partition model's activity spread over the whole liver.
        public var activityGBq: Double
        public var wholeLiverDoseGy: Double
        enum CodingKeys: String, CodingKey {
            case activityGBq = "activity_gbq", wholeLiverDoseGy = "whole_liver_dose_gy"
        }
    }
    public struct BSA: Codable, Sendable, Equatable {
        public var bodySurfaceAreaM2: Double
        public var activityGBq: Double
        public var lungShuntReductionPercent: Double
        public var activityAfterReductionGBq: Double?
        enum CodingKeys: String, CodingKey {
            case bodySurfaceAreaM2 = "body_surface_area_m2", activityGBq = "activity_gbq"
            case lungShuntReductionPercent = "lung_shunt_reduction_percent", activityAfterReductionGBq =
                "activity_after_reduction_gbq"
        }
    }
    public struct Lung: Codable, Sendable, Equatable {
        /// For the activity planned (partition model when computed, else BSA).
        public var activityGBq: Double
        public var doseGy: Double
        public var cumulativeDoseGy: Double
        public var sessionLimitGy: Double
        public var cumulativeLimitGy: Double
        public var withinLimits: Bool
        enum CodingKeys: String, CodingKey {
            case activityGBq = "activity_gbq", doseGy = "dose_gy", cumulativeDoseGy = "cumulative_dose_gy"
            case sessionLimitGy = "session_limit_gy", cumulativeLimitGy = "cumulative_limit_gy", withinLimits =
                "within_limits"
        }
    }
    enum CodingKeys: String, CodingKey {
        case isotope, microsphere, energyGyKgPerGBq = "energy_gy_kg_per_gbq", densityGPerML = "density_g_per_ml"
        case tumorMassKg = "tumor_mass_kg", normalLiverMassKg = "normal_liver_mass_kg"
        case lungShuntFractionPercent = "lung_shunt_fraction_percent", lungMassKg = "lung_mass_kg"
        case partition, singleCompartment = "single_compartment", bsa, lung, warnings, needs
    }

    public static let y90GyKgPerGBq = 49.67
    public static let ho166GyKgPerGBq = 15.87
    public static let defaultDensityGPerML = 1.03
    public static let defaultTumorDoseGy = 150.0
    public static let lungSessionLimitGy = 30.0
    public static let lungCumulativeLimitGy = 50.0

    /// Body surface area (m^2), DuBois & DuBois: 0.20247 · height(m)^0.725 · weight(kg)^0.425.
    public static func bodySurfaceArea(heightCM: Double, weightKG: Double) -> Double {
        0.20247 * pow(heightCM / 100, 0.725) * pow(weightKG, 0.425)
    }

    /// Computes what the facts allow; nil when SIRT dosimetry cannot start (no liver volumes,
    /// no microsphere type or no lung shunt fraction), with the missing facts in `missing`.
    public static func compute(_ f: Facts, missing: inout [String]) -> Dosimetry? {
        func num(_ k: String) -> Double? {
            if case .number(let v)? = f[k] { return v }
            return nil
        }
        var need: [String] = []
        let liver = num("liver_volume_ml"), lesions = num("lesion_volume_ml"), lsf = num("lung_shunt_fraction_percent")
        var sphere: String?
        if case .text(let s)? = f["microsphere"] { sphere = s }
        if liver == nil { need.append("liver_volume_ml") }
        if lesions == nil { need.append("lesion_volume_ml") }
        if sphere == nil { need.append("microsphere") }
        if lsf == nil { need.append("lung_shunt_fraction_percent") }
        guard let liverML = liver, let lesionML = lesions, let microsphere = sphere, let lsfPercent = lsf else {
            missing = need
            return nil
        }
        let k = microsphere == "ho166" ? ho166GyKgPerGBq : y90GyKgPerGBq
        let density = num("liver_density_g_ml") ?? defaultDensityGPerML
        let tumorKg = lesionML * density / 1000, normalKg = max(0, liverML - lesionML) * density / 1000
        let lungKg = num("lung_mass_kg") ?? 1
        let shunt = lsfPercent / 100
        var d = Dosimetry(
            isotope: microsphere == "ho166" ? "Ho-166" : "Y-90", microsphere: microsphere, energyGyKgPerGBq: k,
            densityGPerML: density, tumorMassKg: tumorKg, normalLiverMassKg: normalKg,
            lungShuntFractionPercent: lsfPercent,
            lungMassKg: lungKg, partition: nil, singleCompartment: nil, bsa: nil, lung: nil, warnings: [], needs: [])
        if lsfPercent > 20 {
            d.warnings.append(
                "lung shunt fraction \(lsfPercent) % > 20 %: SIRT usually contraindicated, or the activity must be cut")
        }
        if shunt >= 1 {
            d.warnings.append("a lung shunt of 100 % leaves nothing for the liver")
            return d
        }
        // Partition model.
        if let tn = num("tumor_to_normal_ratio") {
            let target: String, dose: Double, dN: Double
            if let dn = num("sirt_target_normal_liver_dose_gy") {
                target = "normal_liver_dose"
                dose = dn
                dN = dn
            } else {
                target = "tumor_dose"
                dose = num("sirt_target_tumor_dose_gy") ?? defaultTumorDoseGy
                dN = dose / tn
            }
            let a = dN * (tn * tumorKg + normalKg) / (k * (1 - shunt))
            d.partition = Partition(
                target: target, targetDoseGy: dose, tumorToNormalRatio: tn, activityGBq: a, tumorDoseGy: tn * dN,
                normalLiverDoseGy: dN)
            d.singleCompartment = SingleCompartment(
                activityGBq: a, wholeLiverDoseGy: k * a * (1 - shunt) / (tumorKg + normalKg))
        } else {
            d.needs.append("tumor_to_normal_ratio (partition model)")
        }
        // Resin BSA method.
        if microsphere == "y90_resin" {
            if let h = num("height_cm"), let w = num("weight_kg") {
                let bsa = bodySurfaceArea(heightCM: h, weightKG: w)
                let a = (bsa - 0.2) + lesionML / liverML
                let reduction = lsfPercent < 10 ? 0.0 : (lsfPercent <= 15 ? 20.0 : (lsfPercent <= 20 ? 40.0 : 100.0))
                d.bsa = BSA(
                    bodySurfaceAreaM2: bsa, activityGBq: a, lungShuntReductionPercent: reduction,
                    activityAfterReductionGBq: reduction >= 100 ? nil : a * (1 - reduction / 100))
            } else {
                d.needs.append("height_cm and weight_kg (resin BSA method)")
            }
        }
        // Lung dose for the planned activity.
        if let a = d.partition?.activityGBq ?? d.bsa?.activityAfterReductionGBq ?? d.bsa?.activityGBq {
            let dose = k * a * shunt / lungKg
            let cumulative = dose + (num("prior_lung_dose_gy") ?? 0)
            d.lung = Lung(
                activityGBq: a, doseGy: dose, cumulativeDoseGy: cumulative, sessionLimitGy: lungSessionLimitGy,
                cumulativeLimitGy: lungCumulativeLimitGy,
                withinLimits: dose <= lungSessionLimitGy && cumulative <= lungCumulativeLimitGy)
            if dose > lungSessionLimitGy {
                d.warnings.append(String(format: "lung dose %.1f Gy exceeds the 30 Gy session limit", dose))
            }
            if cumulative > lungCumulativeLimitGy {
                d.warnings.append(String(format: "cumulative lung dose %.1f Gy exceeds the 50 Gy limit", cumulative))
            }
        }
        missing = []
        return d
    }
}
