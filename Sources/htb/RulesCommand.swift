import Analysis
import ArgumentParser
import Foundation
import Guidelines

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "The guideline rule engine: list and explain rules, evaluate facts without images.",
        discussion: Help.discussion(
            "", examples: ["htb rules list", "htb rules explain flag.htb_below_50", "htb rules facts"],
            exits: [.ok, .internalError, .usage, .badFacts]),
        subcommands: [List.self, Explain.self, Evaluate.self, FactsList.self])

    struct Options: ParsableArguments {
        @Option(help: "A rules file to use instead of the built-in one (validated on load).")
        var rules: String?

        func load() throws -> RuleSet {
            do { return try rules.map(RuleSet.load) ?? RuleSet.builtIn() } catch { throw fail(error) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every rule: id, conclusion, text, sources.",
            discussion: Help.discussion(
                "", examples: ["htb rules list", "htb rules list --rules Sources/Guidelines/Resources/rules.json"],
                exits: [.ok, .internalError, .usage, .badFacts]))
        @OptionGroup var options: Options
        func run() throws {
            let set = try options.load()
            print("\(set.version) -- \(set.rules.count) rules; precedence: \(set.precedence)")
            for r in set.rules {
                print("\(r.id)  [\(conclusionText(r.then))]  \(r.text) \(r.citations.map { "[\($0)]" }.joined())")
            }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one rule with its condition and the full references.",
            discussion: Help.discussion(
                "", examples: ["htb rules explain flag.htb_below_50"], exits: [.ok, .internalError, .usage, .badFacts]))
        @OptionGroup var options: Options
        @Argument(help: "Rule id (see 'htb rules list').") var id: String
        func run() throws {
            let set = try options.load()
            guard let r = set.rules.first(where: { $0.id == id }) else {
                throw fail(
                    RulesError.invalid(file: set.source, rule: id, reason: "no such rule; 'htb rules list' shows them"))
            }
            print("rule:       \(r.id)")
            print("when:       \(r.when.text)")
            print("concludes:  \(conclusionText(r.then))")
            print("rationale:  \(r.text)")
            for c in r.citations { print("source:     [\(c)] \(set.references[c] ?? "?")") }
        }
    }

    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Evaluate facts that already hold the imaging figures (htb_percent, lesion_count, ...), no images needed.",
            discussion: Help.discussion(
                "",
                examples: [
                    "htb rules evaluate docs/examples/facts-with-imaging.json",
                    "htb rules evaluate docs/examples/facts-with-imaging.json --json",
                ],
                exits: [.ok, .internalError, .usage, .badFacts]))
        @OptionGroup var options: Options
        @Argument(help: "Facts JSON: clinical facts plus imaging figures.") var facts: String
        @Flag(help: "Print the guidelines block as JSON.") var json = false
        func run() throws {
            let set = try options.load()
            let f: Facts
            do {
                guard let data = FileManager.default.contents(atPath: facts) else {
                    throw FactsError.unreadable(file: facts, reason: "no such file")
                }
                f = try Facts.parse(json: data, file: facts)
            } catch { throw fail(error) }
            let g = GuidelineEngine.evaluate(f, rules: set)
            if json {
                FileHandle.standardOutput.write(try JSONEncoder.htbPretty.encode(g))
                print()
            } else {
                print(guidelinesSummary(g), terminator: "")
            }
        }
    }

    struct FactsList: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "facts", abstract: "List every fact key with its type, range and unit.",
            discussion: Help.discussion("", examples: ["htb rules facts"], exits: [.ok, .internalError]))
        func run() throws {
            for d in Facts.definitions where !Facts.computedKeys.contains(d.key) {
                let kind: String
                switch d.kind {
                case .bool: kind = "true/false"
                case .choice(let o): kind = o.joined(separator: "|")
                case .number(let r, let u): kind = "\(r.lowerBound)...\(r.upperBound) \(u)"
                case .integer(let r): kind = "\(r.lowerBound)...\(r.upperBound)"
                }
                print("\(d.key)  (\(kind))  \(d.meaning)")
            }
            print("also accepted: bilirubin_umol_l, creatinine_umol_l, albumin_g_l (converted)")
        }
    }
}

func conclusionText(_ c: Conclusion) -> String {
    switch c {
    case .level(let l, let t): return "\(l.rawValue): \(t.map(\.rawValue).joined(separator: ", "))"
    case .flag(let f): return "flag \(f)"
    case .note(let k): return "note (\(k))"
    }
}

/// The guidelines part of the human summary.
func guidelinesSummary(_ g: GuidelinesReport) -> String {
    var out = ""
    for t in Treatment.allCases {
        guard let a = g.treatments[t.rawValue] else { continue }
        out += "\(t.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(a.level)"
        if let top = a.reasons.first { out += ": \(top.text) \(top.citations.joined())" }
        if a.reasons.count > 1 { out += " (+\(a.reasons.count - 1) more reasons in the report)" }
        if a.reasons.isEmpty && !a.needs.isEmpty { out += " -- needs: \(a.needs.joined(separator: ", "))" }
        out += "\n"
    }
    for f in g.flagDetails { out += "Flag      \(f.id): \(f.text) \(f.citations.joined())\n" }
    if let e = g.enets { out += "ENETS     type \(e.type)\(e.approximate ? " (approximate: no segment map)" : "")\n" }
    if let d = g.dosimetry {
        if let p = d.partition {
            out += String(
                format:
                    "SIRT      %@ %@: partition model %.2f GBq for %.0f Gy %@ (tumour %.0f Gy, normal liver %.1f Gy)\n",
                d.isotope, d.microsphere, p.activityGBq, p.targetDoseGy,
                p.target == "tumor_dose" ? "tumour" : "normal liver",
                p.tumorDoseGy, p.normalLiverDoseGy)
        }
        if let b = d.bsa {
            out += String(
                format: "SIRT      BSA method %.2f GBq (BSA %.2f m2, lung shunt reduction %.0f %%)\n", b.activityGBq,
                b.bodySurfaceAreaM2, b.lungShuntReductionPercent)
        }
        if let l = d.lung {
            out += String(
                format: "SIRT      lung dose %.1f Gy (cumulative %.1f Gy)%@\n", l.doseGy, l.cumulativeDoseGy,
                l.withinLimits ? "" : " OVER THE LIMIT")
        }
        for w in d.warnings { out += "SIRT      warning: \(w)\n" }
    }
    return out
}
