# htb: the two commands README promises, and the benchmark.
#   make demo   set up, build (release), run htb on the sample study, report in ./out
#   make test   lint, set up, build, run every test (real-data tests need ../shared/data)
#   make lint   swift format lint (.swift-format); make man: docs/man/htb.1 from the parser
#   make fuzz   build the fuzz harnesses with libFuzzer + ASan, run each FUZZ_SECONDS (default 60)
#   make bench-docs  every benchmark, each writing its table into docs/benchmarks.md
#   make bench  set up (+ dcm2niix, SimpleITK), build (release), run the benchmarks (load vs
#               dcm2niix, automatic analysis vs SimpleITK with the overlays' share, overlay share
#               of an expert-mask analysis, batch vs one analyze per study, automatic
#               segmentation's accuracy over phantom seeds and on perturbed real cases)

SAMPLE ?= SampleStudies/phantom-htb-low
OUT ?= out
HTB_RELEASE = .build/release/htb

.PHONY: setup demo test lint man bench bench-docs fuzz clean

setup:
	@sh scripts/setup

demo: setup
	swift build -c release
	$(HTB_RELEASE) info $(SAMPLE)
	$(HTB_RELEASE) analyze $(SAMPLE) \
		--liver-mask $(SAMPLE)/truth/seg.dcm:Liver \
		--lesion-mask '$(SAMPLE)/truth/seg.dcm:Lesion*' \
		--out $(OUT)

# Tests run optimised (-O keeps bounds and overflow checks; the sources have no assert or #if
# DEBUG) with testing enabled for @testable imports, in their own build path so that the release
# build of `make demo` is not rebuilt with other flags: about 8x faster than a debug build.
TEST_BUILD = -c release -Xswiftc -enable-testing --build-path .build/test
test: lint
	@sh scripts/setup --test-peers
	swift build --build-tests $(TEST_BUILD)
	swift test --skip-build $(TEST_BUILD)

# The toolchain's swift-format with the committed .swift-format; fails on any finding.
lint:
	swift format lint --strict --recursive --parallel Package.swift Sources Tests

# Every benchmark, each writing its own table into docs/benchmarks.md.
bench-docs: setup
	@sh scripts/setup --bench-peers --test-peers
	swift build -c release
	python3 Benchmarks/bench_load.py --write-docs
	python3 Benchmarks/bench_load.py --enhanced --write-docs
	python3 Benchmarks/bench_auto.py --write-docs
	python3 Benchmarks/bench_overlay.py --write-docs
	python3 Benchmarks/bench_dicom_out.py --write-docs
	python3 Benchmarks/bench_batch.py --write-docs
	python3 Benchmarks/dicom_node.py --write-docs
	python3 Benchmarks/phantom_sweep.py --seeds 12 --write-docs
	python3 Benchmarks/lesion_budget.py --seeds 12 --write-docs
	python3 Benchmarks/phantom_sweep.py --grid fine --seeds 12 --write-docs
	python3 Benchmarks/lesion_budget.py --grid fine --seeds 12 --write-docs
	python3 Benchmarks/response_pairs.py --write-docs
	python3 Benchmarks/response_pairs.py --grid fine --write-docs
	python3 Benchmarks/seeded_lesions.py --write-docs
	python3 Benchmarks/robustness.py --write-docs
	python3 Benchmarks/expert_edges.py --write-docs
	python3 Benchmarks/ablation.py --write-docs
	python3 Benchmarks/ablation.py --lesion-margin-mm 5 --write-docs
	python3 Benchmarks/ablation.py --necrotic-lesions --write-docs

# Fuzzing the readers (DICOM header/series, SEG, NIfTI) with libFuzzer and AddressSanitizer:
# htbfuzz built with -D FUZZING into .build/fuzz, each harness run FUZZ_SECONDS (docs/fuzzing.md).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld \
	-Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address
fuzz: setup
	swift build --product htb
	swift build -c debug --product htbfuzz --build-path .build/fuzz $(FUZZ_FLAGS)
	sh scripts/fuzz $(FUZZ_SECONDS)

# docs/man/htb.1 from the argument parser (swift-argument-parser's generate-manual plugin).
man:
	swift package --disable-sandbox generate-manual
	mkdir -p docs/man
	cp .build/plugins/GenerateManual/outputs/htb/htb.1 docs/man/htb.1

bench: setup
	@sh scripts/setup --bench-peers --test-peers
	swift build -c release
	python3 Benchmarks/bench_load.py
	python3 Benchmarks/bench_auto.py
	python3 Benchmarks/bench_overlay.py
	python3 Benchmarks/bench_dicom_out.py
	python3 Benchmarks/bench_batch.py
	python3 Benchmarks/phantom_sweep.py
	python3 Benchmarks/robustness.py

clean:
	rm -rf .build $(OUT)
