import Foundation

#if FUZZING
    /// libFuzzer's driver (libclang_rt.fuzzer_no_main, linked by `make fuzz`): it parses the
    /// libFuzzer flags and corpus folders in argv and calls the callback with each input.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    nonisolated(unsafe) var selected: Harness = .dicom

    /// libFuzzer's input callback, for its runtime's references (the driver is called with it below).
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        selected.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
#endif

/// `htbfuzz HARNESS FILE...` replays files through a harness (exit 0 when every file ends in a
/// value or an error; a crash ends the process). Built with `-D FUZZING` (`make fuzz`), `HTB_FUZZ=
/// HARNESS htbfuzz [libFuzzer flags] [CORPUS...]` fuzzes it instead.
@main
struct Main {
    static func main() {
        #if FUZZING
            let name = ProcessInfo.processInfo.environment["HTB_FUZZ"] ?? ""
            guard let h = Harness(rawValue: name) else {
                FileHandle.standardError.write(
                    Data("HTB_FUZZ must be one of \(Harness.allCases.map(\.rawValue))\n".utf8))
                exit(64)
            }
            selected = h
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(
                LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) })
        #else
            let args = CommandLine.arguments.dropFirst()
            guard let name = args.first, let h = Harness(rawValue: name) else {
                print("usage: htbfuzz \(Harness.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
                exit(64)
            }
            for file in args.dropFirst() {
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("htbfuzz: cannot read \(file)")
                    exit(66)
                }
                data.withUnsafeBytes { h.run($0) }
            }
            print("htbfuzz \(name): \(args.count - 1) files, no crash")
        #endif
    }
}
