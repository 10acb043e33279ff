import Foundation
import Guidelines
import Testing

/// Clinical vignettes written from ../shared/GUIDELINES.md (facts + figures -> conclusions), the
/// rule file's validation, fact validation and SIRT dosimetry against hand calculations.
@Suite("Guidelines")
struct GuidelinesTests {
    struct Vignette: Sendable, CustomTestStringConvertible {
        var name: String
        var facts: String
        var levels: [Treatment: Level] = [:]
        var flags: [String] = []
        var notFlags: [String] = []
        var rules: [String] = []
        var notRules: [String] = []
        var testDescription: String { name }
    }

    static let rules = try! RuleSet.builtIn()

    /// Vignette facts: `{base, overrides...}` written as one object; later keys replace earlier ones
    /// (and a unit alias such as bilirubin_umol_l replaces its canonical key).
    static func merged(_ json: String) throws -> Data {
        var parts: [(String, String)] = []
        guard case .object = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else {
            return Data(json.utf8)
        }
        // Split the top-level object into key/value texts in order, so duplicates can be resolved.
        let chars = Array(json.trimmingCharacters(in: .whitespaces).dropFirst().dropLast())
        var depth = 0, inString = false, start = 0
        var items: [String] = []
        for (i, c) in chars.enumerated() {
            if c == "\"" { inString.toggle() }
            if inString { continue }
            if c == "{" || c == "[" { depth += 1 }
            if c == "}" || c == "]" { depth -= 1 }
            if c == "," && depth == 0 {
                items.append(String(chars[start..<i]))
                start = i + 1
            }
        }
        items.append(String(chars[start...]))
        for item in items where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            let colon = item.firstIndex(of: ":")!
            let key = item[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: " \""))
            parts.removeAll {
                $0.0 == key || (key == "bilirubin_umol_l" && $0.0 == "bilirubin_mg_dl")
                    || (key == "creatinine_umol_l" && $0.0 == "creatinine_mg_dl")
            }
            parts.append((key, String(item[item.index(after: colon)...])))
        }
        return Data(("{" + parts.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}").utf8)
    }

    static func evaluate(_ json: String) throws -> GuidelinesReport {
        GuidelineEngine.evaluate(try Facts.parse(json: try merged(json), file: "vignette"), rules: rules)
    }

    /// Rule ids that fired: reasons, flags and notes.
    static func fired(_ g: GuidelinesReport) -> Set<String> {
        Set(g.treatments.values.flatMap { $0.reasons.map(\.rule) } + g.flagDetails.map(\.rule) + g.notes.map(\.rule))
    }

    static let base =
        #""symptoms": true, "hormonal_syndrome": false, "progression_on_ssa": false, "portal_vein_thrombosis": "none", "bilioenteric_anastomosis": false, "bilirubin_mg_dl": 0.7, "egfr_ml_min": 80, "ecog": 0"#

    static let vignettes: [Vignette] = [
        Vignette(
            name: "G1, symptomatic, low burden, long survival",
            facts:
                "{\(base), \"grade\": \"G1\", \"htb_percent\": 20, \"extrahepatic_disease\": false, \"expected_survival_years\": 10}",
            levels: [.tae: .preferred, .ctace: .consider, .debtace: .notRecommended, .sirt: .notRecommended],
            flags: ["intra_arterial_therapy_indicated", "htb_below_50"],
            notFlags: ["staged_embolization", "high_burden"],
            rules: [
                "note.good_response_predicted", "sirt.low_grade_long_survival", "ctace.alternative_low_grade",
                "sirt.symptom_relief", "note.post_embolization_syndrome", "note.trial_pending", "combination.tae_ssa",
            ],
            notRules: ["indication.none_stated", "ctace.drug_choice"]),
        Vignette(
            name: "G3, progression, HTB 60 %",
            facts:
                "{\(base), \"symptoms\": false, \"progression_on_ssa\": true, \"grade\": \"G3\", \"htb_percent\": 60}",
            levels: [.ctace: .preferred, .tae: .consider, .debtace: .notRecommended],
            flags: ["high_burden"], notFlags: ["htb_below_50", "staged_embolization"],
            rules: [
                "ctace.poor_differentiation", "ctace.high_burden", "ctace.drug_choice", "sirt.second_line",
                "combination.targeted_after_tae", "combination.sirt_capecitabine_temozolomide",
            ],
            notRules: ["sirt.symptom_relief", "note.good_response_predicted"]),
        Vignette(
            name: "G2, HTB 80 %: staged embolization",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 80}",
            levels: [.ctace: .preferred, .tae: .consider],
            flags: ["staged_embolization", "high_burden"],
            rules: ["tae.alternative_high_grade_or_burden", "flag.staged_embolization"]),
        Vignette(
            name: "Main portal vein thrombosis: embolization contraindicated, SIRT with both sources",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 30, \"portal_vein_thrombosis\": \"main\"}",
            levels: [.tae: .contraindicated, .ctace: .contraindicated, .debtace: .contraindicated, .sirt: .consider],
            rules: [
                "sirt.portal_vein_thrombosis", "sirt.main_portal_vein_thrombosis",
                "embolization.portal_vein_thrombosis",
            ]),
        Vignette(
            name: "Branch portal vein thrombosis: SIRT preferred",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 30, \"portal_vein_thrombosis\": \"branch\"}",
            levels: [.tae: .contraindicated, .sirt: .preferred],
            rules: ["sirt.portal_vein_thrombosis"], notRules: ["sirt.main_portal_vein_thrombosis"]),
        Vignette(
            name: "Bilioenteric anastomosis",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 25, \"bilioenteric_anastomosis\": true}",
            levels: [.tae: .contraindicated, .ctace: .contraindicated, .sirt: .preferred],
            rules: ["embolization.bilioenteric_anastomosis", "sirt.bilioenteric_anastomosis"]),
        Vignette(
            name: "Biliary stent",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 25, \"biliary_stent\": true}",
            levels: [.tae: .notRecommended, .ctace: .notRecommended], rules: ["embolization.incompetent_papilla"]),
        Vignette(
            name: "Sphincterotomy",
            facts:
                "{\(base), \"grade\": \"G2\", \"htb_percent\": 25, \"sphincterotomy\": true, \"biliary_stent\": false}",
            levels: [.tae: .notRecommended], rules: ["embolization.incompetent_papilla"]),
        Vignette(
            name: "Bilirubin 3.5 mg/dL: hepatic insufficiency",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 40, \"bilirubin_mg_dl\": 3.5}",
            levels: [.tae: .contraindicated, .ctace: .contraindicated, .sirt: .contraindicated],
            rules: ["embolization.hepatic_insufficiency", "sirt.bilirubin"]),
        Vignette(
            name: "Child-Pugh C",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 40, \"child_pugh_score\": 11}",
            levels: [.tae: .contraindicated], rules: ["embolization.hepatic_insufficiency"]),
        Vignette(
            name: "Bilirubin 2.5 mg/dL: SIRT contraindicated, embolization not",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 40, \"bilirubin_umol_l\": 42.76}",
            levels: [.tae: .preferred, .sirt: .contraindicated], rules: ["sirt.bilirubin"],
            notRules: ["embolization.hepatic_insufficiency"]),
        Vignette(
            name: "eGFR 25: renal insufficiency",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 10, \"egfr_ml_min\": 25}",
            levels: [.tae: .contraindicated, .ctace: .contraindicated], rules: ["embolization.renal_insufficiency"]),
        Vignette(
            name: "Creatinine 2.1 mg/dL",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 10, \"creatinine_mg_dl\": 2.1}",
            levels: [.tae: .contraindicated], rules: ["embolization.renal_insufficiency"]),
        Vignette(
            name: "Creatinine 150 umol/L (1.70 mg/dL) is not renal insufficiency",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 10, \"creatinine_umol_l\": 150}",
            levels: [.tae: .preferred], notRules: ["embolization.renal_insufficiency"]),
        Vignette(
            name: "Lung shunt 25 %",
            facts: "{\(base), \"grade\": \"G3\", \"htb_percent\": 40, \"lung_shunt_fraction_percent\": 25}",
            levels: [.sirt: .contraindicated], rules: ["sirt.lung_shunt"], notRules: ["sirt.lung_dose"]),
        Vignette(
            name: "Planned activity gives the lungs 102 Gy",
            facts:
                "{\(base), \"grade\": \"G3\", \"htb_percent\": 50, \"liver_volume_ml\": 3000, \"lesion_volume_ml\": 1500, \"lung_shunt_fraction_percent\": 18, \"tumor_to_normal_ratio\": 1, \"microsphere\": \"y90_glass\"}",
            levels: [.sirt: .contraindicated], rules: ["sirt.lung_dose"], notRules: ["sirt.lung_shunt"]),
        Vignette(
            name: "Prior lung dose 45 Gy: cumulative limit",
            facts:
                "{\(base), \"grade\": \"G3\", \"htb_percent\": 20, \"liver_volume_ml\": 1500, \"lesion_volume_ml\": 300, \"lung_shunt_fraction_percent\": 5, \"tumor_to_normal_ratio\": 3, \"microsphere\": \"y90_glass\", \"prior_lung_dose_gy\": 45}",
            levels: [.sirt: .contraindicated], rules: ["sirt.lung_dose"]),
        Vignette(
            name: "ECOG 3",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 30, \"ecog\": 3}",
            levels: [.sirt: .notRecommended], rules: ["sirt.poor_performance", "note.performance_status"]),
        Vignette(
            name: "ECOG 2: prognostic note only",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 30, \"ecog\": 2}",
            rules: ["note.performance_status"], notRules: ["sirt.poor_performance"]),
        Vignette(
            name: "Poorly differentiated NEC: systemic therapy first",
            facts: "{\(base), \"grade\": \"NEC\", \"htb_percent\": 30}",
            levels: [.ctace: .consider, .tae: .consider, .debtace: .notRecommended], flags: ["systemic_therapy_first"],
            rules: ["ctace.poor_differentiation", "systemic_first.liver_directed_at_most_consider"],
            notRules: ["combination.tae_ssa"]),
        Vignette(
            name: "Extrahepatic disease",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 30, \"extrahepatic_disease\": true}",
            rules: ["note.extrahepatic_disease"], notRules: ["note.good_response_predicted"]),
        Vignette(
            name: "ENETS type I measured elsewhere",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 5, \"lesion_count\": 1, \"enets_type\": \"I\"}",
            rules: ["note.enets_simple"], notRules: ["note.enets_diffuse"]),
        Vignette(
            name: "ENETS type III measured elsewhere",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 45, \"lesion_count\": 40, \"enets_type\": \"III\"}",
            rules: ["note.enets_diffuse"], notRules: ["note.enets_simple"]),
        Vignette(
            name: "Prior PRRT",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 35, \"prior_prrt\": true}",
            rules: ["combination.sirt_after_prrt"]),
        Vignette(
            name: "Hypovascular G1",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 15, \"hypovascular\": true}",
            levels: [.tae: .preferred], rules: ["tae.hypovascular"],
            notRules: ["combination.sirt_capecitabine_temozolomide"]),
        Vignette(
            name: "No symptoms, no syndrome, no progression",
            facts: "{\(base), \"symptoms\": false, \"grade\": \"G1\", \"htb_percent\": 10}",
            notFlags: ["intra_arterial_therapy_indicated"],
            rules: ["indication.none_stated"],
            notRules: ["note.post_embolization_syndrome", "note.trial_pending", "combination.tae_ssa"]),
        Vignette(
            name: "Imaging figures only: needs, not guesses",
            facts: "{\"htb_percent\": 30}",
            levels: [
                .tae: .insufficientInformation, .ctace: .insufficientInformation, .debtace: .notRecommended,
                .sirt: .insufficientInformation,
            ],
            flags: ["htb_below_50"], notFlags: ["intra_arterial_therapy_indicated"]),
        Vignette(
            name: "No lesion and no indication known: DEB-TACE undecided",
            facts: "{\"htb_percent\": 0}",
            levels: [.debtace: .insufficientInformation], notRules: ["debtace.biliary_injury"]),
        Vignette(
            name: "Everything decided, nothing against SIRT: an option",
            facts:
                "{\(base), \"progression_on_ssa\": true, \"grade\": \"G3\", \"htb_percent\": 30, \"expected_survival_years\": 3, \"liver_volume_ml\": 1500, \"lesion_volume_ml\": 300, \"lung_shunt_fraction_percent\": 5, \"tumor_to_normal_ratio\": 3, \"microsphere\": \"y90_glass\"}",
            levels: [.sirt: .consider], rules: ["default.option"]),
        Vignette(
            name: "Hormonal syndrome alone",
            facts:
                "{\(base), \"symptoms\": false, \"hormonal_syndrome\": true, \"grade\": \"G2\", \"htb_percent\": 20}",
            flags: ["intra_arterial_therapy_indicated"], rules: ["sirt.symptom_relief"]),
        Vignette(
            name: "HTB exactly 50 %",
            facts: "{\(base), \"grade\": \"G1\", \"htb_percent\": 50}",
            levels: [.tae: .preferred, .ctace: .consider], flags: ["high_burden"], notFlags: ["htb_below_50"],
            notRules: ["ctace.high_burden", "tae.alternative_high_grade_or_burden"]),
        Vignette(
            name: "HTB exactly 75 %: not yet staged",
            facts: "{\(base), \"grade\": \"G2\", \"htb_percent\": 75}",
            notFlags: ["staged_embolization"], rules: ["ctace.high_burden"]),
        Vignette(
            name: "Holmium SIRT planned for a normal-liver dose",
            facts:
                "{\(base), \"grade\": \"G3\", \"htb_percent\": 11.1, \"liver_volume_ml\": 1800, \"lesion_volume_ml\": 200, \"lung_shunt_fraction_percent\": 3, \"tumor_to_normal_ratio\": 2, \"microsphere\": \"ho166\", \"sirt_target_normal_liver_dose_gy\": 60, \"expected_survival_years\": 2}",
            levels: [.sirt: .consider], notRules: ["sirt.lung_dose"]),
    ]

    @Test("clinical vignettes reach the expected conclusions", arguments: vignettes)
    func vignette(_ v: Vignette) throws {
        let g = try Self.evaluate(v.facts)
        for (t, l) in v.levels { #expect(g.level(t) == l, "\(t.rawValue): \(g.treatments[t.rawValue]!)") }
        for f in v.flags { #expect(g.flagIDs.contains(f), "flag \(f)") }
        for f in v.notFlags { #expect(!g.flagIDs.contains(f), "no flag \(f)") }
        let fired = Self.fired(g)
        for r in v.rules { #expect(fired.contains(r), "rule \(r) should fire") }
        for r in v.notRules { #expect(!fired.contains(r), "rule \(r) should stay silent") }
        // Every conclusion cites a reference that resolves.
        let items =
            g.treatments.values.flatMap { $0.reasons.map(\.citations) } + g.flagDetails.map(\.citations)
            + g.notes.map(\.citations)
        for cs in items {
            #expect(!cs.isEmpty)
            for c in cs { #expect(g.references[String(c.dropFirst().dropLast())] != nil, "\(c) unresolved") }
        }
    }

    @Test(
        "when a rule puts systemic therapy first, no liver-directed treatment is preferred, and that rule is a reason")
    func systemicFirst() throws {
        // Every vignette, and NEC with each burden, indication and SIRT fact that can make a
        // treatment preferred elsewhere (high burden, hypovascular, PVT, prior bilioenteric surgery).
        var cases = Self.vignettes.map(\.facts)
        for htb in [5, 30, 60, 80] {
            for extra in [
                "", #", "hypovascular": true"#, #", "portal_vein_thrombosis": "main""#,
                #", "bilioenteric_anastomosis": true"#, #", "progression_on_ssa": true"#,
            ] {
                cases.append("{\(Self.base), \"grade\": \"NEC\", \"htb_percent\": \(htb)\(extra)}")
            }
        }
        var systemic = 0
        for facts in cases {
            let g = try Self.evaluate(facts)
            guard g.flagIDs.contains("systemic_therapy_first") else { continue }
            systemic += 1
            for t in Treatment.allCases {
                #expect(g.level(t) != .preferred, "\(t.rawValue) preferred with systemic therapy first: \(facts)")
                #expect(
                    g.treatments[t.rawValue]!.reasons.contains {
                        $0.rule == "systemic_first.liver_directed_at_most_consider"
                    }, "\(t.rawValue): \(facts)")
            }
        }
        #expect(systemic >= 20)
    }

    @Test("there are at least 30 vignettes and every rule fires in one and stays silent in another")
    func coverage() throws {
        #expect(Self.vignettes.count >= 30)
        var firedSomewhere = Set<String>(), silentSomewhere = Set<String>()
        for v in Self.vignettes {
            let fired = Self.fired(try Self.evaluate(v.facts))
            firedSomewhere.formUnion(fired)
            silentSomewhere.formUnion(Set(Self.rules.rules.map(\.id)).subtracting(fired))
        }
        for r in Self.rules.rules {
            #expect(firedSomewhere.contains(r.id), "\(r.id) never fires")
            #expect(silentSomewhere.contains(r.id), "\(r.id) never stays silent")
        }
    }

    @Test("SIRT dosimetry matches hand calculations to 0.1 %")
    func dosimetry() throws {
        func facts(_ s: String) throws -> Facts { try Facts.parse(json: Data(s.utf8), file: "t") }
        var missing: [String] = []
        // Y-90 glass, partition model for 150 Gy tumour dose, T/N 3, LSF 5 %, liver 1500 mL with 300 mL tumour:
        // M_T = 0.300 L x 1.03 = 0.309 kg, M_N = 1.200 x 1.03 = 1.236 kg, D_N = 150 / 3 = 50 Gy,
        // A = 50 x (3 x 0.309 + 1.236) / (49.67 x 0.95) = 108.15 / 47.1865 = 2.29197 GBq,
        // lung = 49.67 x 2.29197 x 0.05 / 1 kg = 5.69211 Gy, whole liver (MIRD) = 108.15 / 1.545 = 70.0 Gy.
        let a = try #require(
            Dosimetry.compute(
                try facts(
                    #"{"liver_volume_ml": 1500, "lesion_volume_ml": 300, "lung_shunt_fraction_percent": 5, "tumor_to_normal_ratio": 3, "microsphere": "y90_glass"}"#
                ), missing: &missing))
        let p = try #require(a.partition)
        #expect(relativeError(p.activityGBq, 2.291969) < 0.001)
        #expect(relativeError(p.tumorDoseGy, 150) < 1e-9 && relativeError(p.normalLiverDoseGy, 50) < 1e-9)
        #expect(relativeError(a.lung!.doseGy, 5.692105) < 0.001)
        #expect(relativeError(a.singleCompartment!.wholeLiverDoseGy, 70.0) < 0.001)
        #expect(a.lung!.withinLimits)
        // Resin BSA: 170 cm, 70 kg: BSA = 0.20247 x 1.7^0.725 x 70^0.425 = 1.80968 m2;
        // A = (1.80968 - 0.2) + 300/1500 = 1.80968 GBq; LSF 12 % cuts it by 20 % to 1.44775 GBq.
        let b = try #require(
            Dosimetry.compute(
                try facts(
                    #"{"liver_volume_ml": 1500, "lesion_volume_ml": 300, "lung_shunt_fraction_percent": 12, "microsphere": "y90_resin", "height_cm": 170, "weight_kg": 70}"#
                ), missing: &missing))
        #expect(relativeError(b.bsa!.bodySurfaceAreaM2, 1.809684) < 0.001)
        #expect(relativeError(b.bsa!.activityGBq, 1.809684) < 0.001)
        #expect(b.bsa!.lungShuntReductionPercent == 20)
        #expect(relativeError(b.bsa!.activityAfterReductionGBq!, 1.809684 * 0.8) < 0.001)
        #expect(b.partition == nil && b.needs.contains { $0.hasPrefix("tumor_to_normal_ratio") })
        // Ho-166, 60 Gy to normal liver, T/N 2, LSF 3 %, liver 1800 mL with 200 mL tumour:
        // A = 60 x (2 x 0.206 + 1.648) / (15.87 x 0.97) = 123.6 / 15.3939 = 8.02915 GBq, tumour 120 Gy, lung 3.82268 Gy.
        let c = try #require(
            Dosimetry.compute(
                try facts(
                    #"{"liver_volume_ml": 1800, "lesion_volume_ml": 200, "lung_shunt_fraction_percent": 3, "tumor_to_normal_ratio": 2, "microsphere": "ho166", "sirt_target_normal_liver_dose_gy": 60}"#
                ), missing: &missing))
        #expect(c.isotope == "Ho-166" && c.energyGyKgPerGBq == 15.87)
        #expect(relativeError(c.partition!.activityGBq, 8.029154) < 0.001)
        #expect(relativeError(c.partition!.tumorDoseGy, 120) < 1e-9)
        #expect(relativeError(c.lung!.doseGy, 3.822680) < 0.001)
        // Without a lung shunt fraction nothing is computed, and it says what it needs.
        #expect(
            Dosimetry.compute(
                try facts(#"{"liver_volume_ml": 1500, "lesion_volume_ml": 300, "microsphere": "y90_glass"}"#),
                missing: &missing) == nil)
        #expect(missing == ["lung_shunt_fraction_percent"])
    }

    @Test("facts are validated with clear errors")
    func factValidation() {
        func parse(_ s: String) throws { _ = try Facts.parse(json: Data(s.utf8), file: "f.json") }
        #expect(throws: FactsError.unknownKey(file: "f.json", key: "grde", suggestion: "grade")) {
            try parse(#"{"grde": "G1"}"#)
        }
        #expect(
            throws: FactsError.outOfRange(
                file: "f.json", key: "grade", value: "\"G4\"", expected: "one of G1, G2, G3, NEC")
        ) { try parse(#"{"grade": "G4"}"#) }
        #expect(throws: FactsError.self) { try parse(#"{"ki67_percent": 140}"#) }
        #expect(throws: FactsError.self) { try parse(#"{"bilirubin_mg_dl": "1.2 mg/dL"}"#) }
        #expect(throws: FactsError.self) { try parse(#"{"ecog": 1.5}"#) }
        #expect(throws: FactsError.self) { try parse(#"{"symptoms": "yes"}"#) }
        #expect(throws: FactsError.self) { try parse(#"{"child_pugh_score": 8, "child_pugh_class": "A"}"#) }
        #expect(throws: FactsError.self) { try parse(#"{"lung_dose_gy": 3}"#) }  // computed, never given
        #expect(throws: FactsError.self) { try parse(#"[1, 2]"#) }
        #expect(throws: Never.self) {
            try parse(#"{"grade": "g2", "bilirubin_umol_l": 20, "portal_vein_thrombosis": null}"#)
        }
    }

    @Test("a rules file is validated on load")
    func ruleValidation() throws {
        func load(_ rule: String, refs: String = #"{"1": "a source"}"#) throws -> RuleSet {
            try RuleSet.parse(
                Data(#"{"version": "t", "references": \#(refs), "rules": [\#(rule)]}"#.utf8), file: "site.json")
        }
        let ok =
            #"{"id": "a", "when": {"fact": "grade", "eq": "G1"}, "then": {"level": "preferred", "treatments": ["TAE"]}, "text": "t", "citations": ["1"]}"#
        #expect(try load(ok).rules.count == 1)
        #expect(throws: RulesError.self) { try load(ok.replacingOccurrences(of: "\"grade\"", with: "\"grda\"")) }
        #expect(throws: RulesError.self) { try load(ok.replacingOccurrences(of: "G1", with: "G9")) }
        #expect(throws: RulesError.self) { try load(ok.replacingOccurrences(of: "\"TAE\"", with: "\"RFA\"")) }
        #expect(throws: RulesError.self) { try load(ok.replacingOccurrences(of: "preferred", with: "maybe")) }
        #expect(throws: RulesError.self) { try load(ok.replacingOccurrences(of: "[\"1\"]", with: "[\"99\"]")) }
        #expect(throws: RulesError.self) { try load(ok.replacingOccurrences(of: ", \"citations\": [\"1\"]", with: "")) }
        #expect(throws: RulesError.self) { try load(ok + ", " + ok) }  // duplicate id
        // The built-in file: every citation resolves, every fact is known (parse would have thrown).
        #expect(Self.rules.rules.count >= 30)
    }

    @Test("htb rules list, explain and evaluate through the CLI")
    func cli() throws {
        let list = try runHTB(["rules", "list"])
        #expect(list.status == 0 && list.stdout.contains("debtace.biliary_injury"))
        let explain = try runHTB(["rules", "explain", "flag.staged_embolization"])
        #expect(
            explain.status == 0 && explain.stdout.contains("htb_percent > 75")
                && explain.stdout.contains("[21] de Baere 2015"))
        #expect(try runHTB(["rules", "explain", "no.such.rule"]).status == 70)
        let dir = Paths.temporaryDirectory()
        try #"{"grade": "G2", "htb_percent": 82, "symptoms": true, "portal_vein_thrombosis": "none"}"#.write(
            toFile: dir + "/f.json", atomically: true, encoding: .utf8)
        let e = try runHTB(["rules", "evaluate", dir + "/f.json", "--json"])
        #expect(e.status == 0, "\(e.stderr)")
        let g = try JSONDecoder().decode(GuidelinesReport.self, from: Data(e.stdout.utf8))
        #expect(g.flagIDs.contains("staged_embolization"))
        #expect(g.level(.ctace) == .preferred)
        try #"{"grade": "G7"}"#.write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try runHTB(["rules", "evaluate", dir + "/bad.json"])
        #expect(bad.status == 70 && bad.stderr.contains("'grade'"))
        // A site's own rules file replaces the built-in one.
        try
            #"{"version": "site/1", "references": {"S": "site policy"}, "rules": [{"id": "site.no_sirt", "when": {"fact": "htb_percent", "gt": 0}, "then": {"level": "contraindicated", "treatments": ["SIRT"]}, "text": "No SIRT here.", "citations": ["S"]}]}"#
            .write(toFile: dir + "/site.json", atomically: true, encoding: .utf8)
        let site = try runHTB(["rules", "evaluate", dir + "/f.json", "--rules", dir + "/site.json", "--json"])
        let sg = try JSONDecoder().decode(GuidelinesReport.self, from: Data(site.stdout.utf8))
        #expect(sg.level(.sirt) == .contraindicated && sg.rulesVersion == "site/1")
    }
}

extension GuidelinesReport.TreatmentAssessment: CustomStringConvertible {
    public var description: String { "\(level) \(reasons.map(\.rule)) needs \(needs)" }
}

@Suite("ENETS typing")
struct EnetsTests {
    static func lesion(_ ml: Double, x: Double, segments: [Int: Int]? = nil) -> LesionPlacement {
        LesionPlacement(volumeML: ml, centroidMM: (x, 0, 0), segmentVoxels: segments, right: x < 0)
    }

    @Test("exact typing with a Couinaud segment map")
    func exact() throws {
        #expect(EnetsResult.classify([Self.lesion(10, x: -50, segments: [7: 100])])?.type == "I")
        let adjacent = EnetsResult.classify([
            Self.lesion(10, x: -50, segments: [7: 100]), Self.lesion(5, x: -40, segments: [8: 50]),
        ])
        #expect(adjacent?.type == "I" && adjacent?.approximate == false && adjacent?.segmentsInvolved == [7, 8])
        // 6 and 8 do not touch: two right-lobe segments apart -> complex.
        #expect(
            EnetsResult.classify([
                Self.lesion(10, x: -50, segments: [6: 100]), Self.lesion(5, x: -40, segments: [8: 50]),
            ])?.type == "II")
        // 95 % right with a satellite on the left -> complex; 60/40 -> diffuse.
        #expect(
            EnetsResult.classify([
                Self.lesion(95, x: -50, segments: [7: 95, 6: 5]), Self.lesion(5, x: 40, segments: [3: 5]),
            ])?.type == "II")
        #expect(
            EnetsResult.classify([
                Self.lesion(60, x: -50, segments: [7: 60]), Self.lesion(40, x: 40, segments: [3: 40]),
            ])?.type == "III")
        #expect(EnetsResult.classify([]) == nil)
    }

    @Test("approximate typing without segments")
    func approximate() throws {
        let close = EnetsResult.classify([Self.lesion(10, x: -60), Self.lesion(8, x: -30)])
        #expect(close?.type == "I" && close?.approximate == true)
        // 80 mm apart, one lobe
        #expect(EnetsResult.classify([Self.lesion(10, x: -90), Self.lesion(8, x: -10)])?.type == "II")
        #expect(EnetsResult.classify([Self.lesion(50, x: -60), Self.lesion(40, x: 50)])?.type == "III")
    }
}
